/**
 * Practitioner Alerts: the live alerts of one calendar, for a calendar front-end.
 *
 * Speaks the AWS AppSync Events WebSocket protocol (the local endpoint of
 * `practitioner-alerts serve` speaks the same), and uses the settings API's alerts feed as the
 * record of truth: after every (re)subscription it reads the feed back to the newest alert it
 * already knows, so an alert whose push was lost still arrives, and every alert id is delivered
 * once only, however often it was pushed.
 *
 *     import { AlertsClient, feedReader } from "./alerts-client.js";
 *
 *     const client = new AlertsClient({
 *       realtimeUrl: "wss://<realtime DNS name>/event/realtime",
 *       realtimeHost: "<HTTP DNS name of the Event API>",
 *       channel: "/alerts/cal-dr-weber",          // the feed's `channel`
 *       getToken: async ({ refresh }) => jwt,      // the same JWT as for the settings API
 *       fetchAlerts: feedReader({ apiBase, calendarId, getToken }),
 *       onAlert: (alert, { source, historic }) => showPopUp(alert),
 *       onStateChange: (state, detail) => showConnection(state, detail),
 *     });
 *     client.remember(alreadyShownAlerts);          // optional: what the page already lists
 *     client.start();
 *
 * States: "connecting", "live", "offline" (reconnecting with back-off), "refused" (the endpoint
 * or the subscription was refused; detail.errors says why), "stopped".
 *
 * Alerts are the feed's entries: {alert_id, kind, appointment_id, headline, starts_at,
 * previous_starts_at, changed_at, read}. Alert ids sort by the time of the change, newest
 * greatest, as the feed does.
 */

const SUBPROTOCOL = "aws-appsync-event-ws";
// AppSync's documented default when connection_ack carries no connectionTimeoutMs.
const DEFAULT_CONNECTION_TIMEOUT_MS = 300_000;

/** JSON, base64url-encoded without padding: how AppSync wants the header in a subprotocol. */
export function base64UrlJson(value) {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A UUID for the subscribe message; randomUUID exists only in secure contexts (https, localhost). */
export function newSubscriptionId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A `fetchAlerts({cursor, limit})` over the settings API's feed:
 * GET {apiBase}/calendars/{calendarId}/alerts, newest first, with the bearer token.
 * Resolves to the API's page ({alerts, cursor, ...}); rejects with an Error carrying `status`
 * and the API's `problem` body.
 */
export function feedReader({ apiBase, calendarId, getToken, fetchImpl = globalThis.fetch.bind(globalThis) }) {
  const read = async ({ cursor = null, limit = 20, unread = false } = {}, refresh = false) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    if (unread) query.set("unread", "true");
    const url = `${apiBase}/calendars/${encodeURIComponent(calendarId)}/alerts?${query}`;
    const response = await fetchImpl(url, {
      headers: { Authorization: `Bearer ${await getToken({ refresh })}` },
    });
    // A token that expired while the page was open: fetch a new one and try once more.
    if (response.status === 401 && !refresh) return read({ cursor, limit, unread }, true);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(body.message || `HTTP ${response.status}`);
      error.status = response.status;
      error.problem = body;
      throw error;
    }
    return body;
  };
  return (query) => read(query);
}

export class AlertsClient {
  constructor({
    realtimeUrl,
    realtimeHost,
    channel,
    getToken,
    fetchAlerts,
    onAlert,
    onStateChange = () => {},
    onCatchUpError = () => {},
    backoff = { initialMs: 1000, maxMs: 30_000 },
    catchUpPageSize = 20,
    maxCatchUpPages = 10,
    WebSocketImpl = globalThis.WebSocket,
    random = Math.random,
  }) {
    Object.assign(this, {
      realtimeUrl, realtimeHost, channel, getToken, fetchAlerts, onAlert, onStateChange,
      onCatchUpError, backoff, catchUpPageSize, maxCatchUpPages, WebSocketImpl, random,
    });
    this.state = "stopped";
    this.known = new Set();
    this.newestKnown = null;
    this.socket = null;
    this.subscriptionId = null;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.keepAliveTimer = null;
    this.refreshedAfterRefusal = false;
    this.refreshNextToken = false;
    this.historyLoaded = false;
    this.catchUpRunning = null;
    this.catchUpAgain = false;
    this.stopped = true;
    this.onBrowserOffline = () => this.dropConnection();
    this.onBrowserOnline = () => this.reconnectNow();
  }

  /**
   * Alerts the page already shows (say, the first page of the list): never delivered again.
   * Once called, even an empty list, everything found later is new rather than history.
   */
  remember(alerts) {
    this.historyLoaded = true;
    for (const alert of alerts) this.markKnown(alert.alert_id);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    if (globalThis.addEventListener) {
      globalThis.addEventListener("offline", this.onBrowserOffline);
      globalThis.addEventListener("online", this.onBrowserOnline);
    }
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (globalThis.removeEventListener) {
      globalThis.removeEventListener("offline", this.onBrowserOffline);
      globalThis.removeEventListener("online", this.onBrowserOnline);
    }
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.keepAliveTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      if (socket.readyState === 1 && this.subscriptionId) {
        socket.send(JSON.stringify({ type: "unsubscribe", id: this.subscriptionId }));
      }
      socket.close(1000, "stopped");
    }
    this.setState("stopped");
  }

  /** Read the feed back to the newest alert already known; what is new goes to onAlert. */
  catchUp() {
    // One catch-up at a time; a request during one runs once more afterwards, so nothing that
    // arrived while the first was reading is skipped.
    if (this.catchUpRunning) {
      this.catchUpAgain = true;
      return this.catchUpRunning;
    }
    this.catchUpRunning = (async () => {
      try {
        do {
          this.catchUpAgain = false;
          await this.readFeedToNewestKnown();
        } while (this.catchUpAgain && !this.stopped);
      } catch (error) {
        this.onCatchUpError(error);
      } finally {
        this.catchUpRunning = null;
      }
    })();
    return this.catchUpRunning;
  }

  async readFeedToNewestKnown() {
    const boundary = this.newestKnown;
    const found = [];
    let cursor = null;
    for (let page = 0; page < this.maxCatchUpPages; page += 1) {
      const answer = await this.fetchAlerts({ cursor, limit: this.catchUpPageSize });
      const alerts = answer.alerts || [];
      found.push(...alerts);
      cursor = answer.cursor;
      // Stop at the first page that reaches back to what was known. The rest of that page is
      // still looked at: an alert whose change is older than the boundary but was written later
      // (a retried delivery) lands just below it.
      const reachedKnown = boundary === null || alerts.some((alert) => alert.alert_id <= boundary);
      if (reachedKnown || !cursor) break;
    }
    const historic = !this.historyLoaded;
    this.historyLoaded = true;
    // Oldest first, so pop-ups stack in the order things happened.
    for (const alert of found.reverse()) this.deliver(alert, { source: "catch-up", historic });
  }

  // --------------------------------------------------------------------------------------------
  // The connection
  // --------------------------------------------------------------------------------------------

  async connect() {
    clearTimeout(this.reconnectTimer);
    if (this.stopped) return;
    this.setState("connecting");
    let token;
    try {
      token = await this.getToken({ refresh: this.refreshNextToken === true });
    } catch (error) {
      this.refreshNextToken = false;
      this.scheduleReconnect({ reason: "token", message: String(error && error.message) });
      return;
    }
    this.refreshNextToken = false;
    if (this.stopped) return;
    const header = { host: this.realtimeHost, Authorization: token };
    let socket;
    try {
      socket = new this.WebSocketImpl(this.realtimeUrl, [SUBPROTOCOL, `header-${base64UrlJson(header)}`]);
    } catch (error) {
      this.scheduleReconnect({ reason: "connect", message: String(error && error.message) });
      return;
    }
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init" }));
    socket.onmessage = (message) => this.handleMessage(socket, message, header);
    socket.onclose = () => {
      if (this.socket !== socket) return; // an old socket we already gave up on
      this.socket = null;
      clearTimeout(this.keepAliveTimer);
      if (this.state !== "refused") this.scheduleReconnect({ reason: "closed" });
    };
    // An error is always followed by close, which decides what happens next.
    socket.onerror = () => {};
  }

  handleMessage(socket, message, header) {
    if (this.socket !== socket) return;
    let data;
    try {
      data = JSON.parse(String(message.data));
    } catch {
      return; // not ours to interpret; AppSync only sends JSON
    }
    switch (data.type) {
      case "connection_ack":
        this.connectionTimeoutMs = Number(data.connectionTimeoutMs) || DEFAULT_CONNECTION_TIMEOUT_MS;
        this.armKeepAlive();
        this.subscriptionId = newSubscriptionId();
        socket.send(
          JSON.stringify({
            type: "subscribe",
            id: this.subscriptionId,
            channel: this.channel,
            authorization: header,
          }),
        );
        break;
      case "ka":
        this.armKeepAlive();
        break;
      case "subscribe_success":
        if (data.id !== this.subscriptionId) break;
        this.attempt = 0;
        this.refreshedAfterRefusal = false;
        this.setState("live");
        // Anything published before this moment reached nobody: read it from the feed.
        this.catchUp();
        break;
      case "data":
        if (data.id === this.subscriptionId) this.handleEvent(data.event);
        break;
      case "subscribe_error":
      case "connection_error":
      case "error":
        this.refused(socket, data);
        break;
      default:
        break; // publish_success and the like: nothing to do for a subscriber
    }
  }

  handleEvent(event) {
    let alert;
    try {
      alert = typeof event === "string" ? JSON.parse(event) : event;
    } catch {
      return;
    }
    if (alert && typeof alert.alert_id === "string") this.deliver(alert, { source: "push", historic: false });
  }

  refused(socket, data) {
    const errors = Array.isArray(data.errors) ? data.errors : [];
    const unauthorized = errors.some((e) => /unauthori[sz]ed|expired|token/i.test(`${e.errorType} ${e.message}`));
    // A token that expired while the page was open is replaced once; refused again, it is final.
    if (unauthorized && !this.refreshedAfterRefusal) {
      this.refreshedAfterRefusal = true;
      this.refreshNextToken = true;
      this.socket = null;
      socket.close(1000, "refreshing token");
      this.scheduleReconnect({ reason: "token refused", errors }, 0);
      return;
    }
    this.socket = null;
    clearTimeout(this.keepAliveTimer);
    socket.close(1000, "refused");
    this.setState("refused", { errors });
  }

  armKeepAlive() {
    clearTimeout(this.keepAliveTimer);
    // No "ka" within the connection time-out: the connection is dead even if the socket is not.
    this.keepAliveTimer = setTimeout(() => this.dropConnection(), this.connectionTimeoutMs);
  }

  dropConnection() {
    const socket = this.socket;
    if (!socket) {
      if (!this.stopped && this.state !== "refused") this.setState("offline", { reason: "offline" });
      return;
    }
    this.socket = null;
    clearTimeout(this.keepAliveTimer);
    socket.close(4000, "connection lost");
    this.scheduleReconnect({ reason: "connection lost" });
  }

  reconnectNow() {
    if (this.stopped || this.socket) return;
    this.attempt = 0;
    this.connect();
  }

  scheduleReconnect(detail, delayMs = null) {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    // Exponential back-off with full jitter, so a practice's many open calendars do not all
    // reconnect in the same second after an outage.
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempt);
    const delay = delayMs ?? Math.round(this.backoff.initialMs / 2 + this.random() * ceiling);
    this.attempt += 1;
    this.setState("offline", { ...detail, retryInMs: delay });
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  // --------------------------------------------------------------------------------------------
  // Alerts
  // --------------------------------------------------------------------------------------------

  deliver(alert, how) {
    if (this.known.has(alert.alert_id)) return;
    this.markKnown(alert.alert_id);
    this.onAlert(alert, how);
  }

  markKnown(alertId) {
    this.known.add(alertId);
    if (this.newestKnown === null || alertId > this.newestKnown) this.newestKnown = alertId;
  }

  setState(state, detail = {}) {
    this.state = state;
    this.onStateChange(state, detail);
  }
}
