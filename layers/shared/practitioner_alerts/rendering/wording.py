"""What the alerts say, once per supported language.

Every sentence lives here and nowhere else; the renderers only fill in names and times. Dates and
times come from Babel, so no weekday or month name is ever written by hand.

Headlines double as SMS text, so they stay within the GSM-7 alphabet (no ç, ê, «, „ or en dash):
one such character would switch the whole SMS to UCS-2 and halve what fits in a segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from practitioner_alerts.domain.notifications import AlertKind
from practitioner_alerts.domain.settings import Locale


@dataclass(frozen=True)
class PerKind:
    """One text per kind of alert; a dataclass so that no locale can forget a kind."""

    booked: str
    cancelled: str
    rescheduled: str
    test: str

    def __getitem__(self, kind: AlertKind) -> str:
        return str(getattr(self, kind))


@dataclass(frozen=True)
class Wording:
    """Everything one language says; names and times go into the {placeholders}."""

    # Placeholders: {patient}, {when}, {previous} and {calendar} (the calendar phrase below).
    headlines: PerKind
    # E-mail opening sentence; placeholder {calendar}.
    intros: PerKind
    # How a calendar is named inside a sentence: by its practitioner, or by its id without one.
    calendar_named: str
    calendar_unnamed: str
    # The least that identifies a patient to their doctor: first-name initial and surname.
    patient: str
    unnamed_patient: str
    no_name: str
    # Long e-mail form of a moment; Babel supplies {date} and {time}.
    date_at_time: str
    greeting: str
    test_note: str
    label_patient: str
    label_appointment: str
    label_new_time: str
    label_previous_time: str
    label_visit_motive: str
    label_time_zone: str
    footer: str


GERMAN = Wording(
    headlines=PerKind(
        booked="Neuer Online-Termin: {patient}, {when}",
        cancelled="Kurzfristige Absage: {patient}, {when}",
        rescheduled="Termin verschoben: {patient}, von {previous} auf {when}",
        test="Testnachricht: Die Benachrichtigungen zum {calendar} sind aktiv.",
    ),
    intros=PerKind(
        booked="Im {calendar} wurde online ein neuer Termin gebucht.",
        cancelled="Im {calendar} wurde ein Termin kurzfristig online abgesagt.",
        rescheduled="Im {calendar} wurde ein Termin kurzfristig online verschoben.",
        test="Dies ist eine Testnachricht: Die Benachrichtigungen zum {calendar} sind aktiv.",
    ),
    calendar_named="Kalender von {name}",
    calendar_unnamed="Kalender {name}",
    patient="{initial}. {surname}",
    unnamed_patient="Patient/in",
    no_name="(kein Name angegeben)",
    date_at_time="{date} um {time} Uhr",
    greeting="Guten Tag,",
    test_note=(
        "Falls Sie diese E-Mail im Spam-Ordner gefunden haben, markieren Sie sie bitte als "
        "„Kein Spam“, damit künftige Benachrichtigungen in Ihrem Posteingang ankommen."
    ),
    label_patient="Patient/in",
    label_appointment="Termin",
    label_new_time="Neuer Termin",
    label_previous_time="Bisheriger Termin",
    label_visit_motive="Besuchsgrund",
    label_time_zone="Zeitzone",
    footer=(
        "Sie erhalten diese Mitteilung, weil diese E-Mail-Adresse für Benachrichtigungen zum "
        "{calendar} hinterlegt ist. Wenn Sie die Adresse in den Benachrichtigungseinstellungen "
        "des Kalenders löschen, erhalten Sie keine E-Mails mehr."
    ),
)

ENGLISH = Wording(
    headlines=PerKind(
        booked="New online booking: {patient}, {when}",
        cancelled="Short-notice cancellation: {patient}, {when}",
        rescheduled="Appointment moved: {patient}, from {previous} to {when}",
        test="Test message: alerts for {calendar} are active.",
    ),
    intros=PerKind(
        booked="A new appointment was booked online in {calendar}.",
        cancelled="An appointment in {calendar} was cancelled online at short notice.",
        rescheduled="An appointment in {calendar} was moved online at short notice.",
        test="This is a test message: alerts for {calendar} are active.",
    ),
    calendar_named="{name}'s calendar",
    calendar_unnamed="calendar {name}",
    patient="{initial}. {surname}",
    unnamed_patient="Patient",
    no_name="(no name given)",
    date_at_time="{date} at {time}",
    greeting="Hello,",
    test_note=(
        "If you found this e-mail in your spam folder, please mark it as “not spam” so that "
        "future alerts reach your inbox."
    ),
    label_patient="Patient",
    label_appointment="Appointment",
    label_new_time="New time",
    label_previous_time="Previous time",
    label_visit_motive="Reason for visit",
    label_time_zone="Time zone",
    footer=(
        "You are receiving this message because this e-mail address is set up for alerts from "
        "{calendar}. To stop these e-mails, delete the address in the calendar's alert settings."
    ),
)

FRENCH = Wording(
    headlines=PerKind(
        booked="Nouveau rendez-vous en ligne : {patient}, {when}",
        cancelled="Annulation de dernière minute : {patient}, {when}",
        rescheduled="Rendez-vous déplacé : {patient}, du {previous} au {when}",
        test="Message de test : les alertes pour {calendar} sont actives.",
    ),
    intros=PerKind(
        booked="Un nouveau rendez-vous a été pris en ligne dans {calendar}.",
        cancelled="Un rendez-vous de {calendar} a été annulé en ligne à la dernière minute.",
        rescheduled="Un rendez-vous de {calendar} a été déplacé en ligne à la dernière minute.",
        test="Ceci est un message de test : les alertes pour {calendar} sont actives.",
    ),
    # Quoted as a label: "de"/"du"/"d'" before a free-form name cannot be chosen reliably.
    calendar_named="l'agenda « {name} »",
    calendar_unnamed="l'agenda « {name} »",
    # Surname first: "M. Dupont" would read as "Monsieur Dupont".
    patient="{surname} {initial}.",
    unnamed_patient="Patient(e)",
    no_name="(nom non indiqué)",
    date_at_time="{date} à {time}",
    greeting="Bonjour,",
    test_note=(
        "Si vous avez trouvé cet e-mail dans vos courriers indésirables, marquez-le comme "
        "« non indésirable » afin que les prochaines alertes arrivent dans votre boîte de réception."
    ),
    label_patient="Patient(e)",
    label_appointment="Rendez-vous",
    label_new_time="Nouvel horaire",
    label_previous_time="Ancien horaire",
    label_visit_motive="Motif de consultation",
    label_time_zone="Fuseau horaire",
    footer=(
        "Vous recevez ce message parce que cette adresse e-mail est enregistrée pour les alertes "
        "de {calendar}. Pour ne plus les recevoir, supprimez l'adresse dans les paramètres "
        "d'alerte de l'agenda."
    ),
)

ITALIAN = Wording(
    headlines=PerKind(
        booked="Nuovo appuntamento online: {patient}, {when}",
        cancelled="Disdetta dell'ultimo minuto: {patient}, {when}",
        rescheduled="Appuntamento spostato: {patient}, da {previous} a {when}",
        test="Messaggio di prova: le notifiche per il {calendar} sono attive.",
    ),
    intros=PerKind(
        booked="È stato prenotato online un nuovo appuntamento nel {calendar}.",
        cancelled="Un appuntamento nel {calendar} è stato disdetto online all'ultimo minuto.",
        rescheduled="Un appuntamento nel {calendar} è stato spostato online all'ultimo minuto.",
        test="Questo è un messaggio di prova: le notifiche per il {calendar} sono attive.",
    ),
    # Quoted as a label: "di"/"del"/"della" before a free-form name cannot be chosen reliably.
    calendar_named="calendario «{name}»",
    calendar_unnamed="calendario «{name}»",
    patient="{initial}. {surname}",
    unnamed_patient="Paziente",
    no_name="(nome non indicato)",
    date_at_time="{date} alle ore {time}",
    greeting="Buongiorno,",
    test_note=(
        "Se ha trovato questa e-mail nella cartella dello spam, la contrassegni come «non spam», "
        "così le prossime notifiche arriveranno nella posta in arrivo."
    ),
    label_patient="Paziente",
    label_appointment="Appuntamento",
    label_new_time="Nuovo orario",
    label_previous_time="Orario precedente",
    label_visit_motive="Motivo della visita",
    label_time_zone="Fuso orario",
    footer=(
        "Riceve questo messaggio perché questo indirizzo e-mail è registrato per le notifiche del "
        "{calendar}. Per non riceverle più, cancelli l'indirizzo nelle impostazioni delle "
        "notifiche del calendario."
    ),
)

WORDING: dict[Locale, Wording] = {"de": GERMAN, "en": ENGLISH, "fr": FRENCH, "it": ITALIAN}


# The name the verification messages go under: a stranger who gets one must be able to tell
# what asked for their number, and the practitioner what to type the code into.
PRODUCT_NAME = "Practitioner Alerts"


@dataclass(frozen=True)
class VerificationWording:
    """The one-time code message. Placeholders: {product}, {code}, {calendar} (the calendar's
    id), {minutes}. Nothing else goes in: not the practitioner's name, nor any patient's."""

    sms: str
    subject: str
    intro: str
    label_code: str
    how_to: str
    not_you: str
    footer: str


VERIFICATION: dict[Locale, VerificationWording] = {
    "de": VerificationWording(
        sms=(
            "{product}: Code {code} bestätigt diese Nummer für Kalender {calendar}. Gültig {minutes} Min. "
            "Nicht von Ihnen? Ignorieren Sie die SMS."
        ),
        subject="{product}: Ihr Bestätigungscode {code}",
        intro="Diese E-Mail-Adresse wurde für Benachrichtigungen zum Kalender {calendar} eingetragen.",
        label_code="Bestätigungscode",
        how_to=(
            "Geben Sie den Code in den Benachrichtigungseinstellungen des Kalenders ein. Er gilt "
            "{minutes} Minuten. Erst danach erhalten Sie Benachrichtigungen an diese Adresse."
        ),
        not_you=(
            "Wenn Sie das nicht waren, ignorieren Sie diese E-Mail: Ohne den Code geht keine "
            "Benachrichtigung an diese Adresse."
        ),
        footer="Diese Nachricht wurde automatisch von {product} versandt.",
    ),
    "en": VerificationWording(
        sms=(
            "{product}: code {code} confirms this number for calendar {calendar}. Valid {minutes} min. "
            "Not you? Ignore this SMS."
        ),
        subject="{product}: your confirmation code {code}",
        intro="This e-mail address was entered for alerts from calendar {calendar}.",
        label_code="Confirmation code",
        how_to=(
            "Enter the code in the calendar's alert settings. It is valid for {minutes} minutes. "
            "Only then will alerts be sent to this address."
        ),
        not_you=(
            "If this was not you, ignore this e-mail: without the code, no alert is sent to this address."
        ),
        footer="This message was sent automatically by {product}.",
    ),
    "fr": VerificationWording(
        sms=(
            "{product} : le code {code} confirme ce numéro pour l'agenda {calendar}. Valable {minutes} min. "
            "Pas vous ? Ignorez ce SMS."
        ),
        subject="{product} : votre code de confirmation {code}",
        intro="Cette adresse e-mail a été saisie pour les alertes de l'agenda {calendar}.",
        label_code="Code de confirmation",
        how_to=(
            "Saisissez le code dans les paramètres d'alerte de l'agenda. Il reste valable {minutes} "
            "minutes. Les alertes ne seront envoyées à cette adresse qu'ensuite."
        ),
        not_you=(
            "Si ce n'était pas vous, ignorez cet e-mail : sans le code, aucune alerte n'est envoyée "
            "à cette adresse."
        ),
        footer="Ce message a été envoyé automatiquement par {product}.",
    ),
    "it": VerificationWording(
        sms=(
            "{product}: il codice {code} conferma questo numero per il calendario {calendar}. Valido "
            "{minutes} min. Non è lei? Ignori questo SMS."
        ),
        subject="{product}: il suo codice di conferma {code}",
        intro="Questo indirizzo e-mail è stato inserito per le notifiche del calendario {calendar}.",
        label_code="Codice di conferma",
        how_to=(
            "Inserisca il codice nelle impostazioni delle notifiche del calendario. È valido "
            "{minutes} minuti. Solo dopo le notifiche saranno inviate a questo indirizzo."
        ),
        not_you=(
            "Se non è stato lei, ignori questa e-mail: senza il codice non viene inviata alcuna "
            "notifica a questo indirizzo."
        ),
        footer="Questo messaggio è stato inviato automaticamente da {product}.",
    ),
}
