/**
 * The settings page: the help article's form over the settings API, and nothing else.
 *
 * Saving an address or number makes it pending: the API sends it a one-time code, and the
 * channel switches on once the practitioner types that code in here. An empty field switches
 * its channel off at once. The page shows the `channels` and `verification` the API answers; it
 * never decides them itself.
 *
 * A save sends only what the practitioner changed (PATCH, JSON Merge Patch) with the ETag of the
 * settings the form shows (If-Match). Someone else saving in between gets a 412: the page then
 * shows what is saved now and keeps what was typed, and the practitioner saves again or drops
 * their changes. A refused save (422) leaves every input as typed and puts each of the API's
 * field messages next to its field. Whatever else the API answers (warnings, delivery failures,
 * fields this page does not know yet) is shown generically, with the words the API or its
 * OpenAPI document gives.
 */

import { loadWords } from "./i18n.js";
import { calendarIdFromPath, calendarPath, loadConfig, tokenProvider } from "./session.js";
import { SettingsApi } from "./settings-api.js";

const TEXT_FIELDS = ["practitioner_name", "alert_email", "alert_mobile", "locale", "time_zone"];
const FIELDS = [...TEXT_FIELDS, "visit_motive_in_email"];
// What the page draws itself; any other property of the answer goes to "More".
const KNOWN = new Set([
  ...FIELDS,
  "calendar_id",
  "channels",
  "warnings",
  "last_delivery_failures",
  "verification",
  "explanations",
  "alert_email_ascii",
]);
const CHANNEL_FIELD = { email: "alert_email", sms: "alert_mobile" };
// Warnings of API versions that did not name the channel yet.
const WARNING_FIELD = { spam_prone_mailbox: "alert_email" };
// Warnings that say what to do about a pending contact: shown with its code entry.
const VERIFICATION_ADVICE = new Set(["contact_not_verified", "verification_not_sent"]);
const CODE_ERRORS = new Set(["wrong_code", "invalid_request", "code_expired", "nothing_to_verify"]);

/** A setting as the form holds it: text trimmed, empty as null, the checkbox as a boolean. */
function formValue(name, value) {
  if (name === "visit_motive_in_email") return Boolean(value);
  const text = value == null ? "" : String(value).trim();
  return text === "" ? null : text;
}

class SettingsPage {
  constructor({ api, words, timeZone }) {
    Object.assign(this, { api, words, timeZone });
    this.saved = null; // the settings as last read or saved: what "changed" is measured against
    this.etag = null;
    this.form = document.getElementById("settings-form");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    document.getElementById("send-test").addEventListener("click", () => this.sendTest());
    document.getElementById("conflict-save").addEventListener("click", () => this.save());
    document.getElementById("conflict-discard").addEventListener("click", () => this.discardChanges());
    for (const channel of Object.keys(CHANNEL_FIELD)) {
      const box = this.verificationBox(channel);
      box.querySelector(".confirm-code").addEventListener("click", () => this.confirmCode(channel));
      box.querySelector(".resend-code").addEventListener("click", () => this.requestCode(channel));
      // Enter in the code field confirms the code; it must not save the form around it.
      box.querySelector(".code").addEventListener("keydown", (event) => {
        if (event.key !== "Enter") return;
        event.preventDefault();
        this.confirmCode(channel);
      });
    }
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

  typed(name) {
    const input = this.input(name);
    return formValue(name, input.type === "checkbox" ? input.checked : input.value);
  }

  setInput(name, value) {
    const input = this.input(name);
    if (input.type === "checkbox") input.checked = Boolean(value);
    else input.value = value ?? "";
  }

  /** What the practitioner changed in the form since the settings were read or saved. */
  changes() {
    const changed = {};
    for (const name of FIELDS) {
      const typed = this.typed(name);
      if (typed !== formValue(name, this.saved?.[name])) changed[name] = typed;
    }
    return changed;
  }

  /**
   * New settings from the API (a read, a save, a confirmed code). With `keep`, the changes the
   * practitioner has typed and not saved stay in the form on top of them.
   */
  adopt({ settings, etag }, { keep = {} } = {}) {
    const contactsBefore = this.saved ? { sms: this.saved.alert_mobile, email: this.saved.alert_email } : {};
    this.saved = settings;
    this.etag = etag;
    this.show(settings);
    for (const [name, value] of Object.entries(keep)) this.setInput(name, value);
    for (const [channel, field] of Object.entries(CHANNEL_FIELD)) {
      // A code typed for an address that is no longer the saved one belongs to nothing now.
      if (contactsBefore[channel] !== settings[field]) this.verificationBox(channel).querySelector(".code").value = "";
    }
  }

  /** The saved settings into the form, and everything the API says about them. */
  show(settings) {
    for (const name of FIELDS) this.setInput(name, settings[name]);
    this.timeZone = settings.time_zone;
    this.drawChannels(settings.channels ?? [], settings.verification ?? {});
    this.drawVerification(settings.verification ?? {});
    this.drawWarnings(settings.warnings ?? []);
    this.drawFailures(settings.last_delivery_failures ?? {});
    this.drawSentTo(settings);
    document.getElementById("visit_motive_in_email-explanation").textContent =
      settings.explanations?.visit_motive_in_email ?? "";
    // An API that does not have the setting yet gets no checkbox that would do nothing.
    this.fieldBox("visit_motive_in_email").hidden = !("visit_motive_in_email" in settings);
    this.drawMore(settings);
  }

  drawChannels(channels, verification) {
    const list = document.getElementById("channels");
    list.replaceChildren();
    for (const channel of ["email", "sms", "in_app", ...channels.filter((c) => !(c in CHANNEL_FIELD) && c !== "in_app")]) {
      const on = channels.includes(channel);
      const pending = !on && verification[channel] === "pending";
      const item = document.createElement("li");
      item.dataset.channel = channel;
      item.dataset.on = String(on);
      if (pending) item.dataset.state = "pending";
      item.className = `channel ${on ? "on" : pending ? "pending" : "off"}`;
      const name = this.words.t(`settings.channel.${channel}`);
      const state = on ? "settings.on" : pending ? "settings.channel_pending" : "settings.off";
      item.textContent = this.words.t("settings.channel_state", {
        channel: name === `settings.channel.${channel}` ? channel : name,
        state: this.words.t(state),
      });
      list.append(item);
    }
  }

  verificationBox(channel) {
    return this.form.querySelector(`.verification[data-channel="${channel}"]`);
  }

  drawVerification(verification) {
    for (const channel of Object.keys(CHANNEL_FIELD)) {
      const box = this.verificationBox(channel);
      const state = verification[channel];
      box.hidden = !state;
      if (state) box.dataset.state = state;
      else delete box.dataset.state;
      box.querySelector(".verification-state").textContent = state ? this.words.t(`settings.verification.${state}`) : "";
      box.querySelector(".code-entry").hidden = state !== "pending";
      box.querySelector(".verification-advice").replaceChildren();
      if (state !== "pending") this.clearCodeError(channel);
    }
  }

  drawWarnings(warnings) {
    for (const old of this.form.querySelectorAll(".field-warning")) old.remove();
    const general = document.getElementById("warnings");
    general.replaceChildren();
    for (const warning of warnings) {
      const text = warning.message || warning.code;
      const channel = warning.channel ?? null;
      const field = CHANNEL_FIELD[channel] ?? WARNING_FIELD[warning.code];
      const box = channel ? this.verificationBox(channel) : null;
      if (box && VERIFICATION_ADVICE.has(warning.code) && box.dataset.state === "pending") {
        const item = document.createElement("li");
        item.dataset.code = warning.code;
        item.textContent = text;
        box.querySelector(".verification-advice").append(item);
      } else if (field) {
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

  /** An internationalised domain is sent to in Punycode; say so when that is not what is shown. */
  drawSentTo(settings) {
    const note = this.fieldBox("alert_email").querySelector(".sent-to");
    const ascii = settings.alert_email_ascii;
    note.hidden = !ascii || ascii === settings.alert_email;
    note.textContent = note.hidden ? "" : this.words.t("settings.sent_to", { address: ascii });
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
    for (const old of this.form.querySelectorAll(".field > .field-error")) old.remove();
    for (const name of FIELDS) {
      this.input(name).removeAttribute("aria-invalid");
      this.input(name).removeAttribute("aria-describedby");
    }
    this.input("visit_motive_in_email").setAttribute("aria-describedby", "visit_motive_in_email-explanation");
    const general = document.getElementById("general-errors");
    general.replaceChildren();
    general.hidden = true;
  }

  drawErrors(errors, fallback) {
    const general = document.getElementById("general-errors");
    for (const problem of errors) {
      const box = FIELDS.includes(problem.field) ? this.fieldBox(problem.field) : null;
      const text = this.explainFieldError(problem, Boolean(box));
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
    const changes = this.changes();
    const sent = Object.fromEntries(FIELDS.map((name) => [name, this.typed(name)]));
    this.clearErrors();
    this.setBusy(true);
    status.textContent = this.words.t("settings.saving");
    try {
      const reply = await this.api.changeSettings(changes, this.etag);
      this.clearConflict();
      if (reply.settings.locale !== this.words.locale) await this.speak(reply.settings.locale);
      // Whatever was typed while the save was on its way stays in the form.
      const typedSince = Object.fromEntries(
        FIELDS.filter((name) => this.typed(name) !== sent[name]).map((name) => [name, this.typed(name)]),
      );
      this.adopt(reply, { keep: typedSince });
      status.textContent = this.words.t("settings.saved");
    } catch (error) {
      if (error.status === 412) {
        status.textContent = this.words.t("settings.not_saved_stale");
        await this.showConflict(changes);
      } else {
        status.textContent = this.words.t("settings.not_saved");
        this.drawErrors(error.errors ?? [], this.explain(error));
      }
    } finally {
      this.setBusy(false);
    }
  }

  setBusy(busy) {
    for (const id of ["save", "conflict-save", "conflict-discard"]) document.getElementById(id).disabled = busy;
  }

  /**
   * Someone saved these settings after this page read them. The form now shows what is saved,
   * each setting someone else changed is marked with its new value, and what the practitioner
   * changed stays as typed on top, so "save" applies exactly their changes to the new revision.
   */
  async showConflict(changes) {
    const before = this.saved;
    let current;
    try {
      current = await this.api.settings();
    } catch (error) {
      this.drawErrors([], this.explain(error));
      return;
    }
    this.clearConflict();
    this.adopt(current, { keep: changes });
    for (const name of FIELDS) {
      const now = formValue(name, current.settings[name]);
      if (now === formValue(name, before?.[name])) continue;
      const note = document.createElement("p");
      note.className = "changed-elsewhere";
      note.dataset.field = name;
      note.textContent = this.words.t("settings.changed_elsewhere", { value: this.describe(name, now) });
      this.fieldBox(name).append(note);
    }
    const conflict = document.getElementById("conflict");
    conflict.hidden = false;
    conflict.scrollIntoView({ block: "nearest" });
  }

  describe(name, value) {
    if (value === null) return this.words.t("settings.empty_value");
    if (typeof value === "boolean") return this.words.t(value ? "settings.on" : "settings.off");
    return value;
  }

  clearConflict() {
    document.getElementById("conflict").hidden = true;
    for (const old of this.form.querySelectorAll(".changed-elsewhere")) old.remove();
  }

  discardChanges() {
    this.clearConflict();
    this.clearErrors();
    this.show(this.saved);
    document.getElementById("save-status").textContent = "";
  }

  clearCodeError(channel) {
    const box = this.verificationBox(channel);
    box.querySelector(".field-error")?.remove();
    const input = box.querySelector(".code");
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }

  codeError(channel, text) {
    this.clearCodeError(channel);
    const box = this.verificationBox(channel);
    const note = document.createElement("p");
    note.className = "field-error";
    note.id = `code-${channel}-error`;
    note.textContent = text;
    box.querySelector(".code-row").after(note);
    const input = box.querySelector(".code");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    input.focus();
  }

  /** A field's problem in the page's words when it has words for its reason; else the API's
   * English sentence, without the field's name where it stands next to the field. */
  explainFieldError(problem, nextToField) {
    const key = `settings.field_error.${problem.reason}`;
    if (problem.reason && this.words.has(key)) {
      // Countries come as ISO codes; the page names them in its own language.
      const names = new Intl.DisplayNames([this.words.locale], { type: "region" });
      const country = (code) => names.of(String(code)) ?? String(code);
      const details = problem.details ?? {};
      // In the page's alphabetical order: sorted by code, "Suisse" (CH) would come before "Chypre".
      const byName = new Intl.Collator(this.words.locale).compare;
      const allowed = Array.isArray(details.allowed) ? details.allowed.map(country).sort(byName).join(", ") : "";
      return this.words.t(key, { ...details, allowed, country: details.country ? country(details.country) : "" });
    }
    return nextToField ? problem.message.replace(`${problem.field}: `, "") : problem.message;
  }

  /** The API's code errors in the page's words; the code says which, the API's text is English. */
  explainCodeError(error) {
    if (error.code === "wrong_code") {
      const left = Number(error.errors[0]?.details?.attempts_left);
      const attempts = Number.isInteger(left)
        ? ` ${left === 0 ? this.words.t("settings.code_error.no_attempts_left") : this.words.t("settings.code_error.attempts_left", { count: left })}`
        : "";
      return `${this.words.t("settings.code_error.wrong_code")}${attempts}`;
    }
    return this.words.t(`settings.code_error.${error.code}`);
  }

  async confirmCode(channel) {
    const box = this.verificationBox(channel);
    const button = box.querySelector(".confirm-code");
    const status = box.querySelector(".code-status");
    const code = box.querySelector(".code").value.trim();
    this.clearCodeError(channel);
    if (!code) {
      this.codeError(channel, this.words.t("settings.code_error.invalid_request"));
      return;
    }
    button.disabled = true;
    status.textContent = this.words.t("settings.confirming");
    try {
      const reply = await this.api.confirmCode(channel, code);
      this.adopt(reply, { keep: this.changes() });
      box.querySelector(".code").value = "";
      status.textContent = this.words.t(`settings.confirmed.${channel}`);
    } catch (error) {
      status.textContent = "";
      if (error.code === "nothing_to_verify") await this.nothingToVerify(channel, error);
      else if (CODE_ERRORS.has(error.code)) this.codeError(channel, this.explainCodeError(error));
      else this.codeError(channel, this.explain(error));
    } finally {
      button.disabled = false;
    }
  }

  async requestCode(channel) {
    const box = this.verificationBox(channel);
    const button = box.querySelector(".resend-code");
    const status = box.querySelector(".code-status");
    this.clearCodeError(channel);
    delete status.dataset.state;
    button.disabled = true;
    status.textContent = this.words.t("settings.code_sending");
    try {
      const sent = await this.api.requestCode(channel);
      status.dataset.state = "sent";
      status.textContent = this.words.t("settings.code_sent", { until: this.clock(sent.expires_at) });
      this.enableLater(button, (Date.parse(sent.resend_after) - Date.now()) / 1000);
    } catch (error) {
      status.dataset.state = error.code || String(error.status);
      if (error.status === 429 && error.retryAfterSeconds) {
        status.textContent = this.words.t("settings.code_limited", { count: minutes(error.retryAfterSeconds) });
        this.enableLater(button, error.retryAfterSeconds);
        return;
      }
      status.textContent = "";
      if (error.code === "nothing_to_verify") await this.nothingToVerify(channel, error);
      else status.textContent = this.explain(error);
      button.disabled = false;
    }
  }

  /**
   * The contact was confirmed or deleted since the page read the settings (another tab, a
   * colleague): show what is saved now, and say why next to what is left of it.
   */
  async nothingToVerify(channel, error) {
    await this.reload();
    const text = this.explainCodeError(error);
    const box = this.verificationBox(channel);
    if (box.dataset.state === "pending") {
      this.codeError(channel, text);
    } else if (!box.hidden) {
      box.querySelector(".code-status").textContent = text;
    } else {
      // No contact left to show a code field for: the note goes under the (now empty) field,
      // and goes with the next save like any other advice.
      const note = document.createElement("p");
      note.className = "field-warning";
      note.dataset.code = error.code;
      note.textContent = text;
      this.fieldBox(CHANNEL_FIELD[channel]).append(note);
    }
  }

  /** The limits are the API's: a button comes back when the API will accept again. */
  enableLater(button, seconds) {
    if (!(seconds > 0)) {
      button.disabled = false;
      return;
    }
    setTimeout(() => {
      button.disabled = false;
    }, seconds * 1000);
  }

  clock(iso) {
    const instant = new Date(iso);
    if (Number.isNaN(instant.getTime())) return iso;
    return new Intl.DateTimeFormat(this.words.locale, {
      hour: "2-digit",
      minute: "2-digit",
      timeZone: this.timeZone,
    }).format(instant);
  }

  /** The settings as saved now, keeping what the practitioner typed and has not saved. */
  async reload() {
    try {
      this.adopt(await this.api.settings(), { keep: this.changes() });
    } catch {
      // The error next to the code field already says what went wrong.
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
        status.textContent = this.words.t("settings.test_limited", { count: minutes(error.retryAfterSeconds) });
        this.enableLater(button, error.retryAfterSeconds);
        return;
      }
      if (error.code === "no_contact") {
        // Tests go to confirmed contacts only; a pending one needs its code first.
        const pending = Object.values(this.saved?.verification ?? {}).includes("pending");
        status.textContent = this.words.t(pending ? "settings.test_not_confirmed" : "settings.test_no_contact");
      } else {
        status.textContent = this.explain(error);
      }
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

function minutes(seconds) {
  return Math.max(1, Math.ceil(seconds / 60));
}

async function main() {
  const calendarId = calendarIdFromPath();
  const config = await loadConfig();
  const getToken = tokenProvider(config, calendarId);
  const api = new SettingsApi({ apiBase: config.settingsApiBase, calendarId, getToken });
  let read = null;
  let failure = null;
  try {
    read = await api.settings();
  } catch (error) {
    failure = error;
  }
  // Someone who may only see the calendar still gets the refusal in the calendar's language.
  const locale = read?.settings.locale ?? (await api.alerts({ limit: 1 }).catch(() => null))?.locale;
  const words = await loadWords(locale ?? navigator.language.slice(0, 2));
  const page = new SettingsPage({ api, words, timeZone: read?.settings.time_zone });
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
  page.adopt(read);
  page.form.hidden = false;
  document.getElementById("test-box").hidden = false;
}

main().catch((error) => {
  const notice = document.getElementById("notice");
  notice.textContent = String(error && error.message ? error.message : error);
  notice.hidden = false;
});
