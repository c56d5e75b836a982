/**
 * The settings API, as the pages use it. Every failure is an ApiError carrying the status and
 * the API's problem body {code, message, errors: [{field, message}]}, plus Retry-After if sent.
 */

export class ApiError extends Error {
  constructor(status, problem, retryAfterSeconds) {
    super(problem.message || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || null;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class SettingsApi {
  constructor({ apiBase, calendarId, getToken }) {
    this.base = `${apiBase.replace(/\/$/, "")}/calendars/${encodeURIComponent(calendarId)}`;
    this.apiBase = apiBase.replace(/\/$/, "");
    this.getToken = getToken;
  }

  settings() {
    return this.call("GET", "/alert-settings");
  }

  saveSettings(settings) {
    return this.call("PUT", "/alert-settings", settings);
  }

  sendTest() {
    return this.call("POST", "/alert-settings/test");
  }

  alerts({ cursor = null, limit = 20, unread = false } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    if (unread) query.set("unread", "true");
    return this.call("GET", `/alerts?${query}`);
  }

  markRead(alertId) {
    return this.call("POST", `/alerts/${encodeURIComponent(alertId)}/read`);
  }

  /** The public OpenAPI document: what the API says its answers mean. */
  async openapi() {
    const response = await fetch(`${this.apiBase}/openapi.json`);
    return response.ok ? response.json() : null;
  }

  async call(method, path, body, refresh = false) {
    const headers = { Authorization: `Bearer ${await this.getToken({ refresh })}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, { code: "network", message: String(error && error.message) });
    }
    // A token that expired while the page was open: fetch a new one and try once more.
    if (response.status === 401 && !refresh) return this.call(method, path, body, true);
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("Retry-After"));
      throw new ApiError(response.status, answer, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
    }
    return answer;
  }
}
