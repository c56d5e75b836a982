/**
 * The calendar page: pop-ups as alerts arrive, the unread badge, and the alerts list.
 *
 * Pop-ups, badge and list are three views of one set of alerts, keyed by alert id: marking an
 * alert read anywhere updates all three. The real-time part is alerts-client.js; this module only
 * draws. Every text is set with textContent.
 */

import { AlertsClient, feedReader } from "./alerts-client.js";
import { loadWords } from "./i18n.js";
import { calendarIdFromPath, calendarPath, loadConfig, tokenProvider } from "./session.js";
import { SettingsApi } from "./settings-api.js";

const PAGE_SIZE = 20;
// The badge counts up to this many unread alerts exactly, then shows "100+".
const UNREAD_COUNT_LIMIT = 100;

class CalendarPage {
  constructor({ calendarId, api, words, timeZone }) {
    Object.assign(this, { calendarId, api, words, timeZone });
    this.alerts = new Map(); // alert id -> {alert, item, toast}
    this.unread = new Set();
    this.moreUnread = false;
    this.cursor = null;
    this.list = document.getElementById("alerts");
    this.toasts = document.getElementById("toasts");
    this.loadMore = document.getElementById("load-more");
    this.loadMore.addEventListener("click", () => this.loadOlder());
  }

  async countUnread() {
    const page = await this.api.alerts({ unread: true, limit: UNREAD_COUNT_LIMIT });
    for (const alert of page.alerts) this.unread.add(alert.alert_id);
    this.moreUnread = page.cursor !== null;
    this.drawBadge();
  }

  showPage(page) {
    for (const alert of page.alerts) this.add(alert, { popUp: false });
    this.cursor = page.cursor;
    this.loadMore.hidden = !this.cursor;
    this.drawEmpty();
  }

  async loadOlder() {
    this.loadMore.disabled = true;
    try {
      const page = await this.api.alerts({ cursor: this.cursor, limit: PAGE_SIZE });
      this.onOlder?.(page.alerts);
      this.showPage(page);
    } catch (error) {
      this.notice(this.words.t("calendar.feed_failed", { reason: this.reason(error) }));
    } finally {
      this.loadMore.disabled = false;
    }
  }

  /** A new or older alert; `popUp` for those that arrived while the page was open. */
  add(alert, { popUp }) {
    let entry = this.alerts.get(alert.alert_id);
    if (!entry) {
      entry = { alert, item: this.listItem(alert), toast: null };
      this.alerts.set(alert.alert_id, entry);
      this.insertInOrder(entry.item, alert.alert_id);
      if (!alert.read) this.unread.add(alert.alert_id);
    }
    if (popUp && !entry.alert.read && !entry.toast) {
      entry.toast = this.toast(entry.alert);
      this.toasts.prepend(entry.toast);
    }
    this.drawBadge();
    this.drawEmpty();
  }

  insertInOrder(item, alertId) {
    // Newest first by alert id (the feed's order), also when an alert arrives late.
    const later = [...this.list.children].find((other) => other.dataset.alertId < alertId);
    this.list.insertBefore(item, later ?? null);
  }

  fill(element, alert) {
    element.dataset.alertId = alert.alert_id;
    element.dataset.kind = alert.kind;
    element.querySelector(".kind").textContent = this.words.t(`calendar.kind.${alert.kind}`);
    element.querySelector(".headline").textContent = alert.headline;
    element.querySelector(".when").textContent = this.words.t("calendar.appointment", {
      when: this.words.moment(alert.starts_at, this.timeZone),
    });
    const previously = element.querySelector(".previously");
    if (alert.previous_starts_at) {
      previously.textContent = this.words.t("calendar.previously", {
        when: this.words.moment(alert.previous_starts_at, this.timeZone),
      });
      previously.hidden = false;
    }
  }

  listItem(alert) {
    const item = document.getElementById("alert-template").content.firstElementChild.cloneNode(true);
    this.words.apply(item);
    this.fill(item, alert);
    item.querySelector(".changed").textContent = this.words.t("calendar.changed", {
      when: this.words.moment(alert.changed_at, this.timeZone),
    });
    item.querySelector(".mark-read").addEventListener("click", () => this.markRead(alert.alert_id));
    this.drawRead(item, alert.read);
    return item;
  }

  toast(alert) {
    const toast = document.getElementById("toast-template").content.firstElementChild.cloneNode(true);
    this.words.apply(toast);
    this.fill(toast, alert);
    toast.querySelector(".mark-read").addEventListener("click", () => this.markRead(alert.alert_id));
    toast.querySelector(".close").addEventListener("click", () => this.closeToast(alert.alert_id));
    return toast;
  }

  closeToast(alertId) {
    const entry = this.alerts.get(alertId);
    if (entry?.toast) {
      entry.toast.remove();
      entry.toast = null;
    }
  }

  async markRead(alertId) {
    const entry = this.alerts.get(alertId);
    if (!entry || entry.alert.read) return;
    for (const button of this.buttonsOf(entry)) button.disabled = true;
    try {
      await this.api.markRead(alertId);
    } catch (error) {
      for (const button of this.buttonsOf(entry)) button.disabled = false;
      this.notice(this.words.t("calendar.mark_failed", { reason: this.reason(error) }));
      return;
    }
    entry.alert = { ...entry.alert, read: true };
    this.unread.delete(alertId);
    this.drawRead(entry.item, true);
    this.closeToast(alertId);
    this.drawBadge();
  }

  buttonsOf(entry) {
    return [entry.item, entry.toast].filter(Boolean).map((element) => element.querySelector(".mark-read"));
  }

  drawRead(item, read) {
    item.classList.toggle("read", read);
    item.querySelector(".mark-read").hidden = read;
    item.querySelector(".is-read").hidden = !read;
  }

  drawBadge() {
    const badge = document.getElementById("unread-badge");
    const count = this.unread.size;
    badge.hidden = count === 0 && !this.moreUnread;
    badge.textContent = this.moreUnread
      ? this.words.t("calendar.unread_many", { count })
      : this.words.t("calendar.unread", { count });
    badge.dataset.count = String(count);
    // In a tab among the practice's other tabs, the count is what catches the eye.
    const title = this.words.t("calendar.title");
    document.title = count > 0 || this.moreUnread ? `(${count}${this.moreUnread ? "+" : ""}) ${title}` : title;
  }

  drawEmpty() {
    document.getElementById("empty").hidden = this.alerts.size > 0;
  }

  drawConnection(state, detail = {}) {
    const element = document.getElementById("connection");
    element.dataset.state = state;
    const reason = (detail.errors || []).map((e) => e.message || e.errorType).filter(Boolean).join("; ");
    element.textContent = this.words.t(`calendar.state.${state}`, { reason: reason || state });
  }

  notice(text) {
    const notice = document.getElementById("notice");
    notice.textContent = text;
    notice.hidden = false;
  }

  reason(error) {
    if (error.status === 401) return this.words.t("error.unauthorized");
    if (error.status === 403) return this.words.t("error.forbidden");
    if (error.status === 503) return this.words.t("error.unavailable");
    if (error.status === 0) return this.words.t("error.network");
    return error.message;
  }
}

async function main() {
  const calendarId = calendarIdFromPath();
  const config = await loadConfig();
  const getToken = tokenProvider(config, calendarId);
  const api = new SettingsApi({ apiBase: config.settingsApiBase, calendarId, getToken });

  let first = null;
  let failure = null;
  try {
    first = await api.alerts({ limit: PAGE_SIZE });
  } catch (error) {
    failure = error;
  }
  // The feed names the calendar's language, zone and channel; older API versions do not, and
  // then the settings do (administrators only) and the channel follows the documented pattern.
  let { locale, time_zone: timeZone, channel } = first ?? {};
  if (!locale || !timeZone) {
    const settings = (await api.settings().catch(() => null))?.settings;
    locale ??= settings?.locale;
    timeZone ??= settings?.time_zone;
  }
  channel ??= `/alerts/${calendarId}`;
  const words = await loadWords(locale ?? navigator.language.slice(0, 2));
  words.apply(document);
  document.title = words.t("calendar.title");  // until the badge knows the unread count
  document.getElementById("development-only").hidden = !config.developmentOnly;
  const settingsLink = document.getElementById("settings-link");
  settingsLink.href = calendarPath(calendarId, "/settings");
  settingsLink.hidden = false;

  const page = new CalendarPage({ calendarId, api, words, timeZone });
  if (failure) {
    page.notice(words.t("calendar.feed_failed", { reason: page.reason(failure) }));
  } else {
    // The badge counts ids, so an alert both pages (or a later catch-up) hold counts once.
    await page.countUnread().catch(() => {});
    page.showPage(first);
  }

  if (!config.realtimeUrl) {
    page.drawConnection("unconfigured");
    return;
  }
  const client = new AlertsClient({
    realtimeUrl: config.realtimeUrl,
    realtimeHost: config.realtimeHost,
    channel,
    getToken,
    fetchAlerts: feedReader({ apiBase: config.settingsApiBase, calendarId, getToken }),
    onAlert: (alert, { historic }) => page.add(alert, { popUp: !historic }),
    onStateChange: (state, detail) => page.drawConnection(state, detail),
    onCatchUpError: (error) => page.notice(words.t("calendar.feed_failed", { reason: page.reason(error) })),
  });
  page.onOlder = (alerts) => client.remember(alerts);
  if (first) client.remember(first.alerts);
  client.start();
}

main().catch((error) => {
  const notice = document.getElementById("notice");
  notice.textContent = String(error && error.message ? error.message : error);
  notice.hidden = false;
});
