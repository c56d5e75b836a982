"""The one-line headline of an alert, as the in-calendar pop-up feed shows it."""

from __future__ import annotations

from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.rendering.formatting import (
    NAME_LIMIT,
    abbreviate,
    calendar_name,
    calendar_phrase,
    clean,
    headline_text,
    patient_label,
)
from practitioner_alerts.rendering.wording import VERIFICATION, WORDING


def render_headline(alert: AlertContent) -> str:
    """E.g. "Neuer Online-Termin: M. Müller, Do., 9. Sept., 12:00"."""
    if alert.kind == "verification":
        # Never in the feed; a headline (an e-mail subject, a log) must still not show the code.
        return VERIFICATION[alert.locale].intro.format(
            calendar=abbreviate(clean(alert.calendar_id), NAME_LIMIT)
        )
    words = WORDING[alert.locale]
    surname = abbreviate(clean(alert.patient_last_name), NAME_LIMIT)
    return headline_text(
        alert,
        words,
        patient=patient_label(words, clean(alert.patient_first_name), surname),
        calendar=calendar_phrase(words, alert, abbreviate(calendar_name(alert), NAME_LIMIT)),
    )
