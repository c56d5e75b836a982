"""Warnings shown next to the settings, in the calendar's language.

They are advice, not errors: a Hotmail address is accepted, the practitioner is just told where
the alerts may end up. The sentences are with the rest of each language's copy, in
:mod:`practitioner_alerts.languages`.
"""

from __future__ import annotations

from practitioner_alerts.domain.settings import CalendarSettings, ContactChannel, Locale
from practitioner_alerts.languages import advice as advice_in
from practitioner_alerts.settings_api.models import Advice


def advice_for(settings: CalendarSettings, not_sent: tuple[ContactChannel, ...] = ()) -> list[Advice]:
    """What to tell about these settings; ``not_sent``: channels whose code could not go out."""
    words = advice_in(settings.locale)
    not_verified = {"sms": words.mobile_not_verified, "email": words.email_not_verified}
    advice: list[Advice] = []
    if settings.email_is_spam_prone:
        advice.append(Advice(code="spam_prone_mailbox", message=words.spam_prone_mailbox, channel="email"))
    if not settings.entered_channels:
        advice.append(Advice(code="no_contact", message=words.no_contact))
    for channel in settings.pending_channels:
        advice.append(Advice(code="contact_not_verified", message=not_verified[channel], channel=channel))
        if channel in not_sent:
            advice.append(
                Advice(code="verification_not_sent", message=words.verification_not_sent, channel=channel)
            )
    return advice


def explanations_for(locale: Locale) -> dict[str, str]:
    """What the settings that need one mean, by field name, in the calendar's language."""
    return {"visit_motive_in_email": advice_in(locale).visit_motive_in_email}
