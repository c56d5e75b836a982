"""The one-time code that proves a contact: by SMS, and by e-mail.

It goes to a contact nobody has proven yet, possibly a stranger's, so it says only what the
recipient needs to act on it: the product, the code, the calendar's id and how long the code
lives. No patient, no practitioner's name, nothing else the request carried.
"""

from __future__ import annotations

from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.domain.verification import CODE_LIFETIME
from practitioner_alerts.languages import verification_words
from practitioner_alerts.languages import words as alert_words
from practitioner_alerts.languages.wording import PRODUCT_NAME, VerificationWording
from practitioner_alerts.rendering.formatting import NAME_LIMIT, abbreviate, clean, html_lang

_MINUTES = int(CODE_LIFETIME.total_seconds() // 60)


def _placeholders(alert: AlertContent) -> dict[str, str]:
    if not alert.verification_code:
        raise ValueError("a verification message needs its code")
    return {
        "product": PRODUCT_NAME,
        "code": alert.verification_code,
        # Ids are up to 128 characters; one that long would push the SMS past two segments.
        "calendar": abbreviate(clean(alert.calendar_id), NAME_LIMIT),
        "minutes": str(_MINUTES),
    }


def _wording(alert: AlertContent) -> VerificationWording:
    return verification_words(alert.locale)


def verification_sms(alert: AlertContent) -> str:
    return _wording(alert).sms.format(**_placeholders(alert))


def verification_email_view(alert: AlertContent) -> dict[str, object]:
    """What the e-mail templates fill in, from the code and the calendar's id only."""
    words, values = _wording(alert), _placeholders(alert)
    return {
        "lang": html_lang(alert),
        "subject": words.subject.format(**values),
        "greeting": alert_words(alert.locale).greeting,
        "label_separator": alert_words(alert.locale).label_separator,
        "intro": words.intro.format(**values),
        "details": [(words.label_code, values["code"])],
        "notes": [words.how_to.format(**values), words.not_you.format(**values)],
        "footer": words.footer.format(**values),
    }
