/**
 * The pages' own words, one JSON file per language in ./i18n/, and dates in the calendar's zone.
 *
 * Every text reaches the page through textContent or an attribute, never as HTML.
 */

export const LOCALES = ["de", "en", "fr", "it"];
const FALLBACK = "en";

export async function loadWords(locale) {
  // One file per language; a regional choice (en-GB, en-US) keeps its own dates and numbers.
  const language = String(locale ?? "").split("-")[0];
  const chosen = LOCALES.includes(language) ? language : FALLBACK;
  const response = await fetch(new URL(`./i18n/${chosen}.json`, import.meta.url));
  if (!response.ok) throw new Error(`translations for ${chosen}: HTTP ${response.status}`);
  const table = await response.json();
  return new Words(chosen === language ? locale : chosen, table);
}

export class Words {
  constructor(locale, table) {
    this.locale = locale;
    this.table = table;
    this.plurals = new Intl.PluralRules(locale);
  }

  /** Whether this language has words for `key`. */
  has(key) {
    return key in this.table;
  }

  /** The text for `key`, with {name} placeholders filled; a key with {one, other} is counted. */
  t(key, values = {}) {
    let text = this.table[key];
    if (text && typeof text === "object") text = text[this.plurals.select(Number(values.count))] ?? text.other;
    if (typeof text !== "string") return key; // a missing word shows its key, never nothing
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  /** Fill [data-i18n] with text and [data-i18n-aria-label] / [data-i18n-placeholder] attributes. */
  apply(root) {
    document.documentElement.lang = this.locale;
    for (const element of root.querySelectorAll("[data-i18n]")) {
      element.textContent = this.t(element.dataset.i18n);
    }
    for (const [attribute, data] of [
      ["aria-label", "i18nAriaLabel"],
      ["placeholder", "i18nPlaceholder"],
      ["title", "i18nTitle"],
    ]) {
      for (const element of root.querySelectorAll(`[data-${toKebab(data)}]`)) {
        element.setAttribute(attribute, this.t(element.dataset[data]));
      }
    }
  }

  /** An instant as the practice reads it: weekday, date and time in the calendar's zone. */
  moment(iso, timeZone) {
    const instant = new Date(iso);
    if (Number.isNaN(instant.getTime())) return iso;
    return new Intl.DateTimeFormat(this.locale, {
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone,
    }).format(instant);
  }
}

function toKebab(name) {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
