/**
 * The settings API, as the pages use it. Every failure is an ApiError carrying the status and
 * the API's problem body {code, message, errors: [{field, message}]}, plus Retry-After and the
 * ETag if sent.
 *
 * The settings routes answer `{settings, etag}`: the ETag is the revision the page shows, and a
 * change is sent back with it as If-Match, so a change made on a stale copy is refused (412)
 * instead of overwriting what someone else saved meanwhile.
 */

export class ApiError extends Error {
  constructor(status, problem, { retryAfterSeconds = null, etag = null } = {}) {
    super(problem.message || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || null;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfterSeconds = retryAfterSeconds;
    this.etag = etag;
  }
}

const MERGE_PATCH = "application/merge-patch+json";

export class SettingsApi {
  constructor({ apiBase, calendarId, getToken }) {
    this.base = `${apiBase.replace(/\/$/, "")}/calendars/${encodeURIComponent(calendarId)}`;
    this.apiBase = apiBase.replace(/\/$/, "");
    this.getToken = getToken;
  }

  /** The saved settings and their ETag. */
  async settings() {
    const { answer, etag } = await this.call("GET", "/alert-settings");
    return { settings: answer, etag };
  }

  /**
   * Changes only the settings named in `changes` (JSON Merge Patch: null switches a contact
   * off), on the revision `etag`; 412 `stale_settings` if someone saved since.
   */
  async changeSettings(changes, etag) {
    const { answer, etag: saved } = await this.call("PATCH", "/alert-settings", {
      body: changes,
      contentType: MERGE_PATCH,
      headers: etag ? { "If-Match": etag } : {},
    });
    return { settings: answer, etag: saved };
  }

  /** A new one-time code to the pending contact of `channel` ("sms" or "email"). */
  async requestCode(channel) {
    return (await this.call("POST", "/alert-settings/verification", { body: { channel } })).answer;
  }

  /** The code the contact received, typed back; the settings with that contact verified. */
  async confirmCode(channel, code) {
    const { answer, etag } = await this.call("POST", "/alert-settings/verification/confirm", {
      body: { channel, code },
    });
    return { settings: answer, etag };
  }

  async sendTest() {
    return (await this.call("POST", "/alert-settings/test")).answer;
  }

  async alerts({ cursor = null, limit = 20, unread = false } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    if (unread) query.set("unread", "true");
    return (await this.call("GET", `/alerts?${query}`)).answer;
  }

  async markRead(alertId) {
    return (await this.call("POST", `/alerts/${encodeURIComponent(alertId)}/read`)).answer;
  }

  /** The public OpenAPI document: what the API says its answers mean. */
  async openapi() {
    const response = await fetch(`${this.apiBase}/openapi.json`);
    return response.ok ? response.json() : null;
  }

  async call(method, path, { body, contentType = "application/json", headers = {} } = {}, refresh = false) {
    const sent = { ...headers, Authorization: `Bearer ${await this.getToken({ refresh })}` };
    if (body !== undefined) sent["Content-Type"] = contentType;
    let response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: sent,
        body: body === undefined ? undefined : JSON.stringify(body),
        // Settings hold contacts; the API says no-store, and the page never wants a stale copy.
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, { code: "network", message: String(error && error.message) });
    }
    // A token that expired while the page was open: fetch a new one and try once more.
    if (response.status === 401 && !refresh) return this.call(method, path, { body, contentType, headers }, true);
    const answer = await response.json().catch(() => ({}));
    const etag = response.headers.get("ETag");
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("Retry-After"));
      throw new ApiError(response.status, answer, {
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
        etag,
      });
    }
    return { answer, etag };
  }
}
