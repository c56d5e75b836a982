"""The one-line headline of an alert, as the in-calendar pop-up feed shows it."""

from __future__ import annotations

from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.languages import verification_words, words
from practitioner_alerts.rendering.formatting import (
    NAME_LIMIT,
    abbreviate,
    calendar_name,
    calendar_phrase,
    clean,
    headline_text,
    patient_label,
)


def render_headline(alert: AlertContent) -> str:
    """E.g. "Neuer Online-Termin: M. Müller, Do., 9. Sept., 12:00"."""
    if alert.kind == "verification":
        # Never in the feed; a headline (an e-mail subject, a log) must still not show the code.
        return verification_words(alert.locale).intro.format(
            calendar=abbreviate(clean(alert.calendar_id), NAME_LIMIT)
        )
    wording = words(alert.locale)
    surname = abbreviate(clean(alert.patient_last_name), NAME_LIMIT)
    return headline_text(
        alert,
        wording,
        patient=patient_label(wording, clean(alert.patient_first_name), surname),
        calendar=calendar_phrase(wording, alert, abbreviate(calendar_name(alert), NAME_LIMIT)),
    )
