/**
 * The settings page: the help article's form over the settings API, and nothing else.
 *
 * Saving an address switches its channel on, an empty field switches it off: the API decides,
 * the page shows the `channels` it answers. A refused save leaves every input as typed and puts
 * each of the API's field messages next to its field. Whatever else the API answers (warnings,
 * delivery failures, fields this page does not know yet) is shown generically, with the words
 * the API or its OpenAPI document gives.
 */

import { loadWords } from "./i18n.js";
import { calendarIdFromPath, calendarPath, loadConfig, tokenProvider } from "./session.js";
import { SettingsApi } from "./settings-api.js";

const FIELDS = ["practitioner_name", "alert_email", "alert_mobile", "locale", "time_zone"];
// What the page draws itself; any other property of the answer goes to "More".
const KNOWN = new Set([...FIELDS, "calendar_id", "channels", "warnings", "last_delivery_failures"]);
const CHANNEL_FIELD = { email: "alert_email", sms: "alert_mobile" };
const WARNING_FIELD = { spam_prone_mailbox: "alert_email" };

class SettingsPage {
  constructor({ api, words, timeZone }) {
    Object.assign(this, { api, words, timeZone });
    this.form = document.getElementById("settings-form");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    document.getElementById("send-test").addEventListener("click", () => this.sendTest());
    const zones = document.getElementById("time-zones");
    for (const zone of Intl.supportedValuesOf?.("timeZone") ?? []) {
      const option = document.createElement("option");
      option.value = zone;
      zones.append(option);
    }
  }

  input(name) {
    return this.form.elements.namedItem(name);
  }

  /** The saved settings into the form, and everything the API says about them. */
  show(settings) {
    for (const name of FIELDS) this.input(name).value = settings[name] ?? "";
    this.timeZone = settings.time_zone;
    this.drawChannels(settings.channels ?? []);
    this.drawWarnings(settings.warnings ?? []);
    this.drawFailures(settings.last_delivery_failures ?? {});
    this.drawMore(settings);
  }

  drawChannels(channels) {
    const list = document.getElementById("channels");
    list.replaceChildren();
    for (const channel of ["email", "sms", "in_app", ...channels.filter((c) => !(c in CHANNEL_FIELD) && c !== "in_app")]) {
      const on = channels.includes(channel);
      const item = document.createElement("li");
      item.dataset.channel = channel;
      item.dataset.on = String(on);
      item.className = on ? "channel on" : "channel off";
      const name = this.words.t(`settings.channel.${channel}`);
      item.textContent = `${name === `settings.channel.${channel}` ? channel : name}: ${this.words.t(on ? "settings.on" : "settings.off")}`;
      list.append(item);
    }
  }

  drawWarnings(warnings) {
    for (const old of this.form.querySelectorAll(".field-warning")) old.remove();
    const general = document.getElementById("warnings");
    general.replaceChildren();
    for (const warning of warnings) {
      const field = WARNING_FIELD[warning.code];
      const text = warning.message || warning.code;
      if (field) {
        const note = document.createElement("p");
        note.className = "field-warning";
        note.dataset.code = warning.code;
        note.textContent = text;
        this.fieldBox(field).append(note);
      } else {
        const item = document.createElement("li");
        item.dataset.code = warning.code;
        item.textContent = text;
        general.append(item);
      }
    }
    document.getElementById("warnings-box").hidden = general.children.length === 0;
  }

  drawFailures(failures) {
    for (const old of this.form.querySelectorAll(".last-failure")) old.remove();
    const general = document.getElementById("warnings");
    for (const [channel, failure] of Object.entries(failures)) {
      const note = document.createElement(CHANNEL_FIELD[channel] ? "p" : "li");
      note.className = "last-failure";
      note.dataset.channel = channel;
      note.textContent = this.words.t("settings.last_failure", {
        when: this.words.moment(failure.failed_at, this.timeZone),
        reason: failure.reason,
      });
      if (CHANNEL_FIELD[channel]) this.fieldBox(CHANNEL_FIELD[channel]).append(note);
      else general.append(note);
    }
    document.getElementById("warnings-box").hidden = general.children.length === 0;
  }

  async drawMore(settings) {
    const extra = Object.entries(settings).filter(([key]) => !KNOWN.has(key));
    const box = document.getElementById("more-box");
    const list = document.getElementById("more");
    list.replaceChildren();
    box.hidden = extra.length === 0;
    if (extra.length === 0) return;
    const schema = await this.settingsSchema();
    for (const [key, value] of extra) {
      const described = schema?.properties?.[key] ?? {};
      const term = document.createElement("dt");
      term.dataset.key = key;
      term.textContent = described.title || key;
      const detail = document.createElement("dd");
      detail.dataset.key = key;
      detail.textContent = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
      if (described.description) detail.title = described.description;
      list.append(term, detail);
    }
  }

  async settingsSchema() {
    if (this.schema === undefined) {
      const document_ = await this.api.openapi().catch(() => null);
      this.schema = document_?.components?.schemas?.AlertSettingsView ?? null;
    }
    return this.schema;
  }

  fieldBox(name) {
    return this.form.querySelector(`.field[data-field="${name}"]`);
  }

  clearErrors() {
    for (const old of this.form.querySelectorAll(".field-error")) old.remove();
    for (const input of this.form.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
    const general = document.getElementById("general-errors");
    general.replaceChildren();
    general.hidden = true;
  }

  drawErrors(errors, fallback) {
    const general = document.getElementById("general-errors");
    for (const problem of errors) {
      const box = FIELDS.includes(problem.field) ? this.fieldBox(problem.field) : null;
      // The API starts each message with the field's name; next to the field that is said.
      const text = box ? problem.message.replace(`${problem.field}: `, "") : problem.message;
      if (box) {
        const note = document.createElement("p");
        note.className = "field-error";
        note.id = `${problem.field}-error`;
        note.textContent = text;
        box.append(note);
        const input = this.input(problem.field);
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", note.id);
      } else {
        const item = document.createElement("li");
        item.textContent = text;
        general.append(item);
      }
    }
    if (errors.length === 0 && fallback) {
      const item = document.createElement("li");
      item.textContent = fallback;
      general.append(item);
    }
    general.hidden = general.children.length === 0;
    this.form.querySelector("[aria-invalid]")?.focus();
  }

  async save() {
    const status = document.getElementById("save-status");
    const button = document.getElementById("save");
    const values = {};
    for (const name of FIELDS) {
      const value = this.input(name).value.trim();
      values[name] = value === "" ? null : value;
    }
    this.clearErrors();
    button.disabled = true;
    status.textContent = this.words.t("settings.saving");
    try {
      const saved = await this.api.saveSettings(values);
      if (saved.locale !== this.words.locale) await this.speak(saved.locale);
      this.show(saved);
      status.textContent = this.words.t("settings.saved");
    } catch (error) {
      status.textContent = this.words.t("settings.not_saved");
      this.drawErrors(error.errors ?? [], this.explain(error));
    } finally {
      button.disabled = false;
    }
  }

  async sendTest() {
    const button = document.getElementById("send-test");
    const status = document.getElementById("test-status");
    delete status.dataset.state;
    button.disabled = true;
    status.textContent = this.words.t("settings.test_sending");
    try {
      const queued = await this.api.sendTest();
      const channels = queued.channels.map((c) => this.words.t(`settings.channel.${c}`)).join(", ");
      status.dataset.state = "sent";
      status.textContent = this.words.t("settings.test_sent", { channels });
      button.disabled = false;
    } catch (error) {
      status.dataset.state = error.code || String(error.status);
      if (error.status === 429 && error.retryAfterSeconds) {
        const minutes = Math.max(1, Math.ceil(error.retryAfterSeconds / 60));
        status.textContent = this.words.t("settings.test_limited", { count: minutes });
        // The limit is per clock hour: the button comes back when the API will accept again.
        setTimeout(() => {
          button.disabled = false;
        }, error.retryAfterSeconds * 1000);
        return;
      }
      status.textContent = error.code === "no_contact" ? this.words.t("settings.test_no_contact") : this.explain(error);
      button.disabled = false;
    }
  }

  explain(error) {
    if (error.status === 401) return this.words.t("error.unauthorized");
    if (error.status === 403) return this.words.t("settings.forbidden");
    if (error.status === 503) return this.words.t("error.unavailable");
    if (error.status === 0) return this.words.t("error.network");
    return error.message;
  }

  /** Switch the page's own words to the calendar's (new) language. */
  async speak(locale) {
    this.words = await loadWords(locale);
    this.words.apply(document);
    document.title = this.words.t("settings.title");
  }
}

async function main() {
  const calendarId = calendarIdFromPath();
  const config = await loadConfig();
  const getToken = tokenProvider(config, calendarId);
  const api = new SettingsApi({ apiBase: config.settingsApiBase, calendarId, getToken });
  let settings = null;
  let failure = null;
  try {
    settings = await api.settings();
  } catch (error) {
    failure = error;
  }
  // Someone who may only see the calendar still gets the refusal in the calendar's language.
  const locale = settings?.locale ?? (await api.alerts({ limit: 1 }).catch(() => null))?.locale;
  const words = await loadWords(locale ?? navigator.language.slice(0, 2));
  const page = new SettingsPage({ api, words, timeZone: settings?.time_zone });
  await page.speak(words.locale);
  document.getElementById("development-only").hidden = !config.developmentOnly;
  const back = document.getElementById("back-link");
  back.href = calendarPath(calendarId);
  back.hidden = false;
  if (failure) {
    const notice = document.getElementById("notice");
    notice.textContent = page.explain(failure);
    notice.hidden = false;
    return;
  }
  page.show(settings);
  page.form.hidden = false;
  document.getElementById("test-box").hidden = false;
}

main().catch((error) => {
  const notice = document.getElementById("notice");
  notice.textContent = String(error && error.message ? error.message : error);
  notice.hidden = false;
});
