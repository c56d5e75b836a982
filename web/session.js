/**
 * What both pages need before they can talk to anyone: the config, the calendar id, a token.
 *
 * config.json sits beside these modules. `practitioner-alerts serve` generates it; a platform
 * hosting the pages writes its own (see docs/front-end.md):
 *
 *   {"settingsApiBase": "https://.../", "realtimeUrl": "wss://.../event/realtime",
 *    "realtimeHost": "<Event API HTTP DNS name>", "tokenUrl": "/session/token?calendar={calendar_id}"}
 *
 * tokenUrl answers {"token": "<JWT>", "expires_at": <epoch seconds>} for the signed-in user.
 */

export async function loadConfig() {
  const response = await fetch(new URL("./config.json", import.meta.url), { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return response.json();
}

/** The calendar of /calendar/<id> or /calendar/<id>/settings. */
export function calendarIdFromPath(pathname = location.pathname) {
  const found = /\/calendar\/([^/]+)/.exec(pathname);
  return found ? decodeURIComponent(found[1]) : null;
}

/** Page to another page of the same calendar (the id encoded once, as in the path). */
export function calendarPath(calendarId, suffix = "") {
  return `/calendar/${encodeURIComponent(calendarId)}${suffix}`;
}

/**
 * A token provider: fetches from tokenUrl, keeps the token until a minute before it expires,
 * and fetches a new one when asked to refresh (say, after the endpoint refused it).
 */
export function tokenProvider(config, calendarId) {
  let current = null;
  return async ({ refresh = false } = {}) => {
    const now = Date.now() / 1000;
    if (!refresh && current && current.expires_at - 60 > now) return current.token;
    const url = config.tokenUrl.replace("{calendar_id}", encodeURIComponent(calendarId));
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) throw new Error(`token: HTTP ${response.status}`);
    const body = await response.json();
    current = { token: body.token, expires_at: Number(body.expires_at) || now + 300 };
    return current.token;
  };
}
