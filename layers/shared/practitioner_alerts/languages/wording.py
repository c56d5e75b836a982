"""What a language has to say: the shape every language's copy fills in.

The copy itself lives in :mod:`practitioner_alerts.languages`, one module per language,
so that each is read and reviewed as a whole by someone who writes that language. It stays in
Python rather than Babel message catalogues (``.po``/``.mo``): the dataclasses below make a
language that forgets a sentence, a kind of alert or a placeholder fail mypy and the tests, the
renderers choose between sentences (a named or an unnamed patient) rather than translate one
English source string, and there is no catalogue to compile into the layer. Babel still supplies
every date, time, weekday, month and time-zone name; none is written by hand.

Headlines double as SMS text, so outside their names and typography they stay within the GSM-7
alphabet (no ç, ê or „): one such character would switch the whole SMS to UCS-2 and halve what
fits in a segment. The typography the SMS cannot carry (no-break spaces, typographic apostrophes)
is spelled plainly by the SMS renderer, not left out of the copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from practitioner_alerts.domain.notifications import AlertKind

# The name the verification messages go under: a stranger who gets one must be able to tell
# what asked for their number, and the practitioner what to type the code into.
PRODUCT_NAME = "Practitioner Alerts"


@dataclass(frozen=True)
class PerKind:
    """One text per kind of alert; a dataclass so that no language can forget a kind."""

    booked: str
    cancelled: str
    rescheduled: str
    test: str

    def __getitem__(self, kind: AlertKind) -> str:
        return str(getattr(self, kind))


@dataclass(frozen=True)
class PerChange:
    """One text per kind of change a digest tells; placeholder {count} where there are several."""

    booked: str
    cancelled: str
    rescheduled: str

    def __getitem__(self, kind: str) -> str:
        return str(getattr(self, kind))


@dataclass(frozen=True)
class Wording:
    """Everything one language says in an alert; names and times go into the {placeholders}."""

    # Placeholders: {patient}, {when}, {previous} and {calendar} (the calendar phrase below).
    headlines: PerKind
    # The same without a patient: the booking platform sent no name at all.
    headlines_unnamed: PerKind
    # E-mail opening sentence; placeholder {calendar}.
    intros: PerKind
    # How a calendar is named inside a sentence: by its practitioner, or by its id without one.
    calendar_named: str
    calendar_unnamed: str
    # The least that identifies a patient to their doctor: first-name initial and surname.
    patient: str
    # Only a first name was sent: its initial, and that the surname is missing.
    first_name_only: str
    no_name: str
    # Long e-mail form of a moment; Babel supplies {date} and {time}.
    date_at_time: str
    # Between a label and its value in the plain-text e-mail ("Termin: ...", "Rendez-vous : ...").
    label_separator: str
    greeting: str
    test_note: str
    label_patient: str
    label_appointment: str
    label_new_time: str
    label_previous_time: str
    label_visit_motive: str
    label_time_zone: str
    footer: str
    # The SMS digest of a burst (domain.digest): "3 weitere neue Online-Termine: <times>"; the
    # first alerts of its window went out alone, hence "more".
    digest_one: PerChange
    digest_many: PerChange


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


@dataclass(frozen=True)
class SettingsAdvice:
    """What the settings API tells the practitioner next to their settings."""

    spam_prone_mailbox: str
    no_contact: str
    mobile_not_verified: str
    email_not_verified: str
    verification_not_sent: str
    visit_motive_in_email: str


@dataclass(frozen=True)
class Language:
    """One language's whole copy."""

    alerts: Wording
    verification: VerificationWording
    advice: SettingsAdvice
