"""The alert as an e-mail to the practitioner's own inbox: subject, plain text and HTML.

The body may name the patient in full and the visit motive; the subject shows only initial and
surname, because subjects also surface in lock-screen previews and mail server logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.languages import words as words_for
from practitioner_alerts.languages.wording import Wording
from practitioner_alerts.rendering.formatting import (
    NAME_LIMIT,
    abbreviate,
    calendar_name,
    calendar_phrase,
    clean,
    full_name,
    html_lang,
    long_when,
    time_zone_name,
)
from practitioner_alerts.rendering.headline import render_headline
from practitioner_alerts.rendering.verification import verification_email_view

if TYPE_CHECKING:
    from jinja2 import Environment


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@cache
def _templates() -> Environment:
    # Jinja2 (~20 ms) loads with the first e-mail, not with this module: the sender loads every
    # renderer, and a batch of SMS and in-calendar alerts never needs Jinja2.
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape  # noqa: PLC0415

    return Environment(
        loader=PackageLoader("practitioner_alerts.rendering", "templates"),
        # Escaping is on for everything but the plain-text body, including templates added later.
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _subject(alert: AlertContent) -> str:
    subject = render_headline(alert)
    practitioner = clean(alert.practitioner_name)
    if alert.kind != "test" and practitioner:
        subject = f"{subject} – {abbreviate(practitioner, NAME_LIMIT)}"
    # Every piece is cleaned already; cleaning the whole keeps the header one line by construction.
    return clean(subject, keep_no_break=True)


def _details(alert: AlertContent, words: Wording) -> list[tuple[str, str]]:
    if alert.kind == "test":
        return []
    rows = [(words.label_patient, full_name(alert) or words.no_name)]
    zone = time_zone_name(alert.starts_at, alert)
    previous = alert.previous_starts_at if alert.kind == "rescheduled" else None
    if previous is not None and time_zone_name(previous, alert) != zone:
        # Moved across a daylight-saving change: one zone row would be wrong for one of the
        # two times, so each names its own ("... 12:00 Uhr (Mitteleuropäische Sommerzeit)").
        rows.append((words.label_previous_time, _with_zone(previous, alert, words)))
        rows.append((words.label_new_time, _with_zone(alert.starts_at, alert, words)))
        zone = ""
    elif alert.kind == "rescheduled":
        if previous is not None:
            rows.append((words.label_previous_time, long_when(previous, alert, words)))
        rows.append((words.label_new_time, long_when(alert.starts_at, alert, words)))
    else:
        rows.append((words.label_appointment, long_when(alert.starts_at, alert, words)))
    motive = clean(alert.visit_motive)
    if motive:
        rows.append((words.label_visit_motive, motive))
    if zone:
        rows.append((words.label_time_zone, zone))
    return rows


def _with_zone(moment: datetime, alert: AlertContent, words: Wording) -> str:
    return f"{long_when(moment, alert, words)} ({time_zone_name(moment, alert)})"


def render_email(alert: AlertContent) -> Email:
    """Subject, plain-text and HTML body of the alert, in the calendar's language and zone."""
    if alert.kind == "verification":
        return _email(verification_email_view(alert))
    words = words_for(alert.locale)
    calendar = calendar_phrase(words, alert, calendar_name(alert))
    subject = _subject(alert)
    view = {
        "lang": html_lang(alert),
        "subject": subject,
        "greeting": words.greeting,
        "label_separator": words.label_separator,
        "intro": words.intros[alert.kind].format(calendar=calendar),
        "details": _details(alert, words),
        "notes": [words.test_note] if alert.kind == "test" else [],
        "footer": words.footer.format(calendar=calendar),
    }
    return _email(view)


def _email(view: Mapping[str, object]) -> Email:
    templates = _templates()
    return Email(
        subject=clean(str(view["subject"]), keep_no_break=True),
        text=templates.get_template("email.txt").render(view),
        html=templates.get_template("email.html").render(view),
    )
