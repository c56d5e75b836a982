"""Warnings shown next to the settings, in the calendar's language.

They are advice, not errors: a Hotmail address is accepted, the practitioner is just told where
the alerts may end up.
"""

from __future__ import annotations

from practitioner_alerts.domain.settings import CalendarSettings, Locale
from practitioner_alerts.settings_api.models import Advice

_SPAM_PRONE: dict[Locale, str] = {
    "de": (
        "E-Mails an Hotmail-, Outlook- und Live-Adressen landen manchmal im Spam-Ordner. "
        "Prüfen Sie ihn, oder verwenden Sie eine andere Adresse."
    ),
    "en": (
        "E-mails to Hotmail, Outlook and Live addresses sometimes end up in the spam folder. "
        "Check it, or use a different address."
    ),
    "fr": (
        "Les e-mails envoyés aux adresses Hotmail, Outlook et Live arrivent parfois dans les "
        "courriers indésirables. Vérifiez ce dossier ou utilisez une autre adresse."
    ),
    "it": (
        "Le e-mail inviate a indirizzi Hotmail, Outlook e Live finiscono a volte nella posta "
        "indesiderata. Controlli quella cartella oppure utilizzi un altro indirizzo."
    ),
}

_NO_CONTACT: dict[Locale, str] = {
    "de": (
        "Es ist weder eine E-Mail-Adresse noch eine Mobilnummer hinterlegt. "
        "Benachrichtigungen erscheinen nur im Kalender."
    ),
    "en": "Neither an e-mail address nor a mobile number is set. Alerts appear in the calendar only.",
    "fr": (
        "Aucune adresse e-mail ni aucun numéro de mobile n'est enregistré. "
        "Les alertes s'affichent uniquement dans le calendrier."
    ),
    "it": (
        "Non è impostato né un indirizzo e-mail né un numero di cellulare. "
        "Gli avvisi compaiono solo nel calendario."
    ),
}


def advice_for(settings: CalendarSettings) -> list[Advice]:
    advice: list[Advice] = []
    if settings.email_is_spam_prone:
        advice.append(Advice(code="spam_prone_mailbox", message=_SPAM_PRONE[settings.locale]))
    if not settings.channels:
        advice.append(Advice(code="no_contact", message=_NO_CONTACT[settings.locale]))
    return advice
