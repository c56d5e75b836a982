"""Warnings shown next to the settings, in the calendar's language.

They are advice, not errors: a Hotmail address is accepted, the practitioner is just told where
the alerts may end up.
"""

from __future__ import annotations

from practitioner_alerts.domain.settings import CalendarSettings, ContactChannel, Locale
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


_NOT_VERIFIED: dict[ContactChannel, dict[Locale, str]] = {
    "sms": {
        "de": (
            "Die Mobilnummer ist noch nicht bestätigt. Geben Sie den Code aus der SMS ein; bis dahin "
            "gehen keine Benachrichtigungen per SMS hinaus."
        ),
        "en": (
            "The mobile number is not confirmed yet. Enter the code from the SMS; until then no "
            "alerts are sent by SMS."
        ),
        "fr": (
            "Le numéro de mobile n'est pas encore confirmé. Saisissez le code reçu par SMS ; d'ici là, "
            "aucune alerte n'est envoyée par SMS."
        ),
        "it": (
            "Il numero di cellulare non è ancora confermato. Inserisca il codice ricevuto via SMS; "
            "fino ad allora non vengono inviate notifiche via SMS."
        ),
    },
    "email": {
        "de": (
            "Die E-Mail-Adresse ist noch nicht bestätigt. Geben Sie den Code aus der E-Mail ein; bis "
            "dahin gehen keine Benachrichtigungen per E-Mail hinaus."
        ),
        "en": (
            "The e-mail address is not confirmed yet. Enter the code from the e-mail; until then no "
            "alerts are sent by e-mail."
        ),
        "fr": (
            "L'adresse e-mail n'est pas encore confirmée. Saisissez le code reçu par e-mail ; d'ici là, "
            "aucune alerte n'est envoyée par e-mail."
        ),
        "it": (
            "L'indirizzo e-mail non è ancora confermato. Inserisca il codice ricevuto via e-mail; "
            "fino ad allora non vengono inviate notifiche via e-mail."
        ),
    },
}

_NOT_SENT: dict[Locale, str] = {
    "de": (
        "Es konnte gerade kein Bestätigungscode gesendet werden. Fordern Sie in einigen Minuten "
        "einen neuen an."
    ),
    "en": "No confirmation code could be sent just now. Request a new one in a few minutes.",
    "fr": (
        "Aucun code de confirmation n'a pu être envoyé pour le moment. Demandez-en un nouveau dans "
        "quelques minutes."
    ),
    "it": (
        "Al momento non è stato possibile inviare un codice di conferma. Ne richieda uno nuovo tra "
        "qualche minuto."
    ),
}


def advice_for(settings: CalendarSettings, not_sent: tuple[ContactChannel, ...] = ()) -> list[Advice]:
    """What to tell about these settings; ``not_sent``: channels whose code could not go out."""
    advice: list[Advice] = []
    if settings.email_is_spam_prone:
        advice.append(
            Advice(code="spam_prone_mailbox", message=_SPAM_PRONE[settings.locale], channel="email")
        )
    if not settings.entered_channels:
        advice.append(Advice(code="no_contact", message=_NO_CONTACT[settings.locale]))
    for channel in settings.pending_channels:
        advice.append(
            Advice(
                code="contact_not_verified", message=_NOT_VERIFIED[channel][settings.locale], channel=channel
            )
        )
        if channel in not_sent:
            advice.append(
                Advice(code="verification_not_sent", message=_NOT_SENT[settings.locale], channel=channel)
            )
    return advice


_VISIT_MOTIVE_IN_EMAIL: dict[Locale, str] = {
    "de": (
        "Der Besuchsgrund ist eine Gesundheitsangabe. Schalten Sie ihn für E-Mails nur ein, wenn "
        "das Postfach nur Ihnen und Ihrem Praxisteam zugänglich ist. Per SMS wird er nie gesendet."
    ),
    "en": (
        "The reason for the visit is health information. Switch it on for e-mails only if no one but "
        "you and your practice team can read this mailbox. It is never sent by SMS."
    ),
    "fr": (
        "Le motif de consultation est une donnée de santé. Ne l'activez pour les e-mails que si seuls "
        "vous et l'équipe de votre cabinet avez accès à cette boîte. Il n'est jamais envoyé par SMS."
    ),
    "it": (
        "Il motivo della visita è un dato sanitario. Lo attivi per le e-mail solo se questa casella "
        "è accessibile soltanto a lei e al personale dello studio. Non viene mai inviato via SMS."
    ),
}


def explanations_for(locale: Locale) -> dict[str, str]:
    """What the settings that need one mean, by field name, in the calendar's language."""
    return {"visit_motive_in_email": _VISIT_MOTIVE_IN_EMAIL[locale]}
