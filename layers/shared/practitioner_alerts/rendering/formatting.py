"""The pieces every channel assembles: clean names, local times, the calendar and the patient.

Names come from patients typing into a booking form and from practice settings, so they are
treated as hostile text: control characters, line breaks and bidi overrides are taken out before
anything is shown. A line break in a name must not reach an e-mail header, and a right-to-left
override must not make the appointment time read backwards.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time, get_datetime_format, get_timezone_name

from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.languages.wording import Wording

# Joiners are format characters too, but Persian and Indic names and emoji need them to render.
_JOINERS = frozenset({"\u200c", "\u200d"})
_NO_BREAK_SPACES = frozenset({"\u00a0", "\u202f"})
_SPACES = re.compile(" {2,}")
ELLIPSIS = "…"
# Longer than any real surname or practitioner; a pasted paragraph must not fill an alert.
NAME_LIMIT = 40


def clean(value: str | None, *, keep_no_break: bool = False) -> str:
    """One line of display text: no control or format characters, whitespace collapsed.

    ``keep_no_break`` keeps the copy's no-break spaces (French "Rendez-vous : ", Babel's
    "12:00 PM") where the text is shown as typed; the SMS has none to spend them on.
    """
    if not value:
        return ""
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", value):
        category = unicodedata.category(char)
        if keep_no_break and char in _NO_BREAK_SPACES:
            kept.append(char)
        elif category == "Cc" or category.startswith("Z"):
            kept.append(" ")  # a line break or tab between two words still separates them
        elif category.startswith("C") and char not in _JOINERS:
            continue
        else:
            kept.append(char)
    return _SPACES.sub(" ", "".join(kept)).strip(" ")


def abbreviate(value: str, keep: int) -> str:
    """The first ``keep`` characters and an ellipsis, never ending on a space or a joiner."""
    if len(value) <= keep:
        return value
    return value[:keep].rstrip(" -'.,\u200c\u200d") + ELLIPSIS


def initial(first_name: str) -> str:
    """First letter of a first name with any combining accents; "" when there is no letter."""
    for index, char in enumerate(first_name):
        if unicodedata.category(char).startswith("L"):
            end = index + 1
            # Two marks cover any real accent; a stack of hundreds is an attack on the SMS length.
            while end < min(len(first_name), index + 3) and unicodedata.combining(first_name[end]):
                end += 1
            return first_name[index:end].upper()
    return ""


def patient_label(words: Wording, first_name: str, surname: str) -> str:
    """Initial and surname ("M. Müller"), the surname alone, or the initial and that the surname
    is missing; "" when there is no name at all (the headline then says so in its own words)."""
    first = initial(first_name)
    if surname:
        return words.patient.format(initial=first, surname=surname) if first else surname
    return words.first_name_only.format(initial=first) if first else ""


def full_name(alert: AlertContent) -> str:
    return " ".join(
        part for part in (clean(alert.patient_first_name), clean(alert.patient_last_name)) if part
    )


def calendar_name(alert: AlertContent) -> str:
    return clean(alert.practitioner_name) or clean(alert.calendar_id)


def calendar_phrase(words: Wording, alert: AlertContent, name: str) -> str:
    """How a sentence names the calendar, e.g. "Kalender von Dr. Schmidt"; ``name`` may be cut."""
    template = words.calendar_named if clean(alert.practitioner_name) else words.calendar_unnamed
    return template.format(name=name)


def babel_locale(alert: AlertContent) -> str:
    """The Babel locale dates and times are written in. Babel's "en" is American English, which
    reads "Thu, Sep 9, 12:00 PM" to a London practice: plain "en" follows the calendar's zone."""
    if alert.locale == "en":
        return "en_GB" if alert.time_zone.startswith("Europe/") else "en_US"
    return alert.locale.replace("-", "_")


def html_lang(alert: AlertContent) -> str:
    """The e-mail's ``lang``, e.g. "en-GB", so that screen readers and spell checkers follow it."""
    return babel_locale(alert).replace("_", "-")


def _local(moment: datetime, alert: AlertContent) -> datetime:
    return moment.astimezone(ZoneInfo(alert.time_zone))


def short_when(moment: datetime, alert: AlertContent) -> str:
    """Weekday, day, month and time in the calendar's zone, e.g. "Do., 9. Sept., 12:00"."""
    date, time = local_date(moment, alert), local_time(moment, alert)
    locale = babel_locale(alert)
    # Babel glues date and time the same way in format_datetime; its patterns quote no literals here.
    pattern = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    return pattern.replace("{0}", time).replace("{1}", date)


def local_date(moment: datetime, alert: AlertContent) -> str:
    """Weekday, day and month in the calendar's zone, e.g. "Do., 9. Sept."."""
    return str(format_skeleton("MMMEd", _local(moment, alert), locale=babel_locale(alert)))


def local_time(moment: datetime, alert: AlertContent) -> str:
    """The time of day in the calendar's zone, e.g. "12:00" or "12:00 PM"."""
    local = _local(moment, alert)
    return str(format_time(local, "short", tzinfo=local.tzinfo, locale=babel_locale(alert)))


def long_when(moment: datetime, alert: AlertContent, words: Wording) -> str:
    """Full weekday and date with year, e.g. "Donnerstag, 9. September 2027 um 12:00 Uhr"."""
    local, locale = _local(moment, alert), babel_locale(alert)
    date = str(format_date(local, "full", locale=locale))
    time = str(format_time(local, "short", tzinfo=local.tzinfo, locale=locale))
    return words.date_at_time.format(date=date, time=time)


def time_zone_name(moment: datetime, alert: AlertContent) -> str:
    """The zone's everyday name at that moment, e.g. "Mitteleuropäische Sommerzeit"."""
    return str(get_timezone_name(_local(moment, alert), "long", locale=babel_locale(alert)))


def headline_text(alert: AlertContent, words: Wording, *, patient: str, calendar: str) -> str:
    """``patient`` "" is a change without any name; its headline says so instead."""
    previous = alert.previous_starts_at
    headlines = words.headlines if patient or alert.kind == "test" else words.headlines_unnamed
    return headlines[alert.kind].format(
        patient=patient,
        calendar=calendar,
        when=short_when(alert.starts_at, alert),
        # A reschedule always carries its old start; "?" keeps a malformed one readable.
        previous=short_when(previous, alert) if previous else "?",
    )
