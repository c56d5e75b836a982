"""A calendar's alert settings, validated the same way wherever they come from.

The settings API and the local runtime's ``--calendars`` file both go through
:class:`CalendarSettings`, so a value that one accepts the other accepts too.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# The languages the copy is written in, one module each (rendering/languages/).
Language = Literal["de", "en", "fr", "it"]
# What a calendar may choose. "en" follows the calendar's time zone: British conventions (9 September,
# 14:00) in Europe, American ones (September 9, 2:00 PM) elsewhere; en-GB and en-US choose outright.
Locale = Literal["de", "en", "en-GB", "en-US", "fr", "it"]
ContactChannel = Literal["sms", "email"]
CONTACT_CHANNELS: tuple[ContactChannel, ...] = ("sms", "email")
# The languages (the layer build keeps Babel's data for these and their regional variants).
SUPPORTED_LOCALES: tuple[Language, ...] = ("de", "en", "fr", "it")
LOCALE_CHOICES: tuple[Locale, ...] = ("de", "en", "en-GB", "en-US", "fr", "it")


_LANGUAGE_OF: dict[Locale, Language] = {
    "de": "de",
    "en": "en",
    "en-GB": "en",
    "en-US": "en",
    "fr": "fr",
    "it": "it",
}


def language_of(locale: Locale) -> Language:
    """The language a locale's copy is written in: "en" for en-GB and en-US."""
    return _LANGUAGE_OF[locale]


DEFAULT_TIME_ZONE = "Europe/Berlin"
DEFAULT_REGION = "DE"

# Where SMS may go unless the deployment says otherwise (SmsAllowedCountries): the EU and EEA,
# Switzerland and the United Kingdom, where the practices are. Everything else, satellite and
# other non-geographic numbers above all, is where SMS toll fraud sends its traffic. The Crown
# dependencies (GG, JE, IM) have numbers of their own and carrier prices of their own.
DEFAULT_SMS_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GB",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
# Settings validated with a context are *entered* (the API, an import) and meet today's rules for
# new values; stored settings are read without one. The key holds where a new number may be.
SMS_COUNTRIES_CONTEXT = "sms_countries"


def entering(sms_countries: frozenset[str] = DEFAULT_SMS_COUNTRIES) -> dict[str, object]:
    """The validation context of settings being entered."""
    return {SMS_COUNTRIES_CONTEXT: sms_countries}


# The practitioner's name goes into every alert to a proven contact. Entered, it is a name: short,
# one line, no link or number a spammer could route readers to, nothing that reorders text.
MAX_PRACTITIONER_NAME = 80
_LINK = re.compile(r"://|\bwww\.|@|\b[A-Za-z0-9-]+\.[a-z]{2,}\b")
_PHONE_DIGITS = 5
# Joiners are format characters, but Persian and Indic names need them.
_JOINERS = frozenset({"\u200c", "\u200d"})


# Why an entered setting is refused, as the settings API names it next to its English sentence
# (`reason`), so that a page can say it in the calendar's language (web/i18n).
REFUSAL_REASONS = (
    "name_too_long",
    "name_not_plain_text",
    "name_contains_address",
    "name_contains_phone_number",
    "not_a_phone_number",
    "invalid_phone_number",
    "non_geographic_number",
    "landline",
    "no_sms_country",
    "sms_country_not_allowed",
    "invalid_email",
    "non_ascii_local_part",
    "unknown_time_zone",
)


def refused(reason: str, message: str, **details: int | str | list[str]) -> PydanticCustomError:
    """A ValueError that pydantic reports with ``reason`` as its type, ``message`` as its text
    and ``details`` in its context (beside the message, which fills the template's only blank,
    so that braces in an echoed address stay as typed)."""
    return PydanticCustomError(reason, "{message}", {"message": message, **details})


def practitioner_name_problem(name: str) -> str | None:
    """Why ``name`` is not a practitioner's name as entered, or None."""
    found = _name_refusal(name)
    return None if found is None else found[1]


def _name_refusal(name: str) -> tuple[str, str] | None:
    if len(name) > MAX_PRACTITIONER_NAME:
        return "name_too_long", f"must be at most {MAX_PRACTITIONER_NAME} characters"
    for char in name:
        category = unicodedata.category(char)
        if (category[0] == "C" or category in ("Zl", "Zp")) and char not in _JOINERS:
            return "name_not_plain_text", "must be one line of plain text, without control or bidi characters"
    if _LINK.search(name):
        return "name_contains_address", "must not contain a web address or an e-mail address"
    if sum(char.isdigit() for char in name) >= _PHONE_DIGITS:
        return "name_contains_phone_number", "must not contain a phone number"
    return None


# Microsoft's consumer mailboxes file automated mail under spam more often than others; the help
# article warns about hotmail, outlook and live, and msn is the same service.
SPAM_PRONE_MAILBOXES = frozenset({"hotmail", "outlook", "live", "msn"})


@cache
def _country_of_zone() -> dict[str, str]:
    """IANA zone -> ISO country, from the zone.tab that tzdata ships."""
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    mapping: dict[str, str] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone, *_ = line.split("\t")
            mapping[zone] = country
    return mapping


def region_for(time_zone: str) -> str:
    """The country whose numbering plan applies to numbers typed without a country code."""
    return _country_of_zone().get(time_zone, DEFAULT_REGION)


@cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def canonical_time_zones() -> frozenset[str]:
    """IANA's canonical zones (zone1970.tab and zone.tab, as tzdata ships them) and UTC: no
    backward-compatible aliases (Europe/Kiev, US/Eastern), no pseudo-zones (localtime, Factory)."""
    zones = {"UTC", "Etc/UTC"}
    for table in ("zone1970.tab", "zone.tab"):
        text = resources.files("tzdata.zoneinfo").joinpath(table).read_text(encoding="utf-8")
        zones.update(line.split("\t")[2] for line in text.splitlines() if line and not line.startswith("#"))
    return frozenset(zones)


def normalize_mobile(raw: str, region: str) -> str:
    """E.164 form of a mobile number, or ValueError saying what is wrong with it."""
    # Imported on the first number checked, not with the module (~15 ms): the sender and the
    # delivery-events function use this module's types but never check a contact.
    import phonenumbers  # noqa: PLC0415

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise refused("not_a_phone_number", "is not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise refused("invalid_phone_number", "is not a valid phone number")
    if phonenumbers.region_code_for_number(number) in (None, "001"):
        # Satellite (+881, +870) and other non-geographic numbers: priced like premium services.
        raise refused(
            "non_geographic_number",
            "is a satellite or other non-geographic number; alerts go to mobile numbers only",
        )
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise refused("landline", "is not a mobile number; SMS cannot reach a landline")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sms_country(e164: str) -> str | None:
    """The ISO country of a number, or None when it has none (non-geographic, unparsable)."""
    import phonenumbers  # noqa: PLC0415 - see normalize_mobile

    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return None if region in (None, "001") else str(region)


def sms_country_problem(e164: str, allowed: frozenset[str]) -> str | None:
    """Why no SMS may go to this number here, or None when it may."""
    country = sms_country(e164)
    if country is None:
        return "is not a number of any country; SMS go only to mobile numbers of " + ", ".join(
            sorted(allowed)
        )
    if country not in allowed:
        return f"is a number of {country}; SMS alerts go only to mobile numbers of " + ", ".join(
            sorted(allowed)
        )
    return None


def normalize_email(raw: str, *, entered: bool = True) -> str:
    """The address as SES takes it, the domain in Punycode (``praxis@xn--bcher-kva.de``), checked
    for syntax only: Lambda must not wait on DNS. SES cannot send to a part before the @ that is
    not ASCII, so an address with one is refused when ``entered``; one stored before that rule is
    kept (its sends fail, and the practitioner sees why)."""
    # Imported on the first address checked, not with the module (~20 ms, mostly compiling its
    # RFC regexes): the sender and the delivery-events function never check a contact.
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415

    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        raise refused("invalid_email", str(error)) from error
    if checked.ascii_email is not None:
        return str(checked.ascii_email)
    if entered:
        raise refused(
            "non_ascii_local_part",
            f"the part before the @ ({checked.local_part}) has letters outside ASCII, and e-mail cannot "
            "be sent to such an address here; use an address whose part before the @ is plain ASCII",
        )
    return str(checked.normalized)


def display_email(address: str) -> str:
    """The address for people to read: the domain in Unicode (``praxis@bücher.de``)."""
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 - see normalize_email

    try:
        return str(validate_email(address, check_deliverability=False).normalized)
    except EmailNotValidError:
        return address


def contact_digest(contact: str) -> str:
    """A stand-in for a contact where only its identity matters (which address a delivery
    failure was for), so that the contact itself is not copied there."""
    import hashlib  # noqa: PLC0415 - a few microseconds, but only the delivery paths need it

    return hashlib.sha256(contact.encode()).hexdigest()[:32]


def is_spam_prone(email: str) -> bool:
    """True for hotmail/outlook/live/msn in every country variant (hotmail.de, live.co.uk...)."""
    domain = email.rpartition("@")[2].lower()
    return domain.split(".", 1)[0] in SPAM_PRONE_MAILBOXES


_NOT_A_TIME_ZONE = "is not an IANA time zone name such as Europe/Berlin"


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


class CalendarSettings(BaseModel):
    """Who hears about a calendar's online changes, and in which language and time zone.

    An empty or missing ``alert_email`` or ``alert_mobile`` switches that channel off.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    calendar_id: Annotated[str, Field(min_length=1, max_length=200)]
    practitioner_name: Annotated[str, Field(max_length=200)] | None = None
    time_zone: str = DEFAULT_TIME_ZONE
    locale: Locale = "de"
    alert_email: str | None = None
    alert_mobile: str | None = None
    # The contact each channel last proved to be the practitioner's (a code confirmed, or an
    # operator's import). A channel delivers only while its contact equals its proven one, so a
    # contact changed by any route, the API or a write around it, is pending until proven.
    verified_mobile: str | None = None
    verified_email: str | None = None
    # The visit motive is health data: e-mails carry it only when the calendar opts in. SMS never
    # do; the in-calendar feed sits behind the practitioner's login.
    visit_motive_in_email: bool = False

    @field_validator(
        "alert_email", "alert_mobile", "verified_email", "verified_mobile", "practitioner_name", mode="before"
    )
    @classmethod
    def _empty_means_off(cls, value: object) -> object:
        return _blank_to_none(value)

    @field_validator("practitioner_name")
    @classmethod
    def _a_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Only when entered (the API, an import): a name saved under older rules still alerts.
        if value is not None and info.context is not None:
            found = _name_refusal(value)
            if found is not None:
                reason, message = found
                details = {"max_length": MAX_PRACTITIONER_NAME} if reason == "name_too_long" else {}
                raise refused(reason, message, **details)
        return value

    @field_validator("visit_motive_in_email", mode="before")
    @classmethod
    def _off_unless_on(cls, value: object) -> object:
        return False if value is None else value

    @field_validator("time_zone", mode="before")
    @classmethod
    def _default_time_zone(cls, value: object) -> object:
        return _blank_to_none(value) or DEFAULT_TIME_ZONE

    @field_validator("locale", mode="before")
    @classmethod
    def _default_locale(cls, value: object) -> object:
        return _blank_to_none(value) or "de"

    @field_validator("time_zone")
    @classmethod
    def _iana_time_zone(cls, value: str, info: ValidationInfo) -> str:
        # Entered, only a canonical name; stored under an alias, it still alerts.
        known = canonical_time_zones() if info.context is not None else _known_time_zones()
        if value not in known:
            raise refused("unknown_time_zone", "is not an IANA time zone name such as Europe/Berlin")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise refused(
                "unknown_time_zone", "is not an IANA time zone name such as Europe/Berlin"
            ) from error
        return value

    @field_validator("alert_email", "verified_email")
    @classmethod
    def _valid_email(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else normalize_email(value, entered=info.context is not None)

    @field_validator("alert_mobile", "verified_mobile")
    @classmethod
    def _valid_mobile(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Fields validate in declaration order, so a valid time_zone is already in info.data;
        # numbers typed without a country code are read in that zone's country.
        if value is None:
            return None
        number = normalize_mobile(value, region_for(info.data.get("time_zone", DEFAULT_TIME_ZONE)))
        # Entering a number checks its country; stored settings are read without one, so that a
        # narrower list later parks nothing (the sender refuses such numbers when it sends).
        allowed = (info.context or {}).get(SMS_COUNTRIES_CONTEXT)
        if info.field_name == "alert_mobile" and allowed is not None:
            problem = sms_country_problem(number, frozenset(allowed))
            if problem is not None:
                country = sms_country(number)
                reason = "no_sms_country" if country is None else "sms_country_not_allowed"
                known = {"country": country} if country else {}
                raise refused(reason, problem, allowed=sorted(allowed), **known)
        return number

    def contact(self, channel: ContactChannel) -> str | None:
        """The contact entered for ``channel``, proven or not."""
        return self.alert_mobile if channel == "sms" else self.alert_email

    def is_verified(self, channel: ContactChannel) -> bool:
        proven = self.verified_mobile if channel == "sms" else self.verified_email
        contact = self.contact(channel)
        return contact is not None and contact == proven

    @property
    def sms_recipient(self) -> str | None:
        """The mobile number alerts go to: the entered one, once it is proven."""
        return self.alert_mobile if self.is_verified("sms") else None

    @property
    def email_recipient(self) -> str | None:
        """The address alerts go to: the entered one, once it is proven."""
        return self.alert_email if self.is_verified("email") else None

    @property
    def entered_channels(self) -> tuple[ContactChannel, ...]:
        """Channels with a contact entered, proven or pending."""
        return tuple(channel for channel in CONTACT_CHANNELS if self.contact(channel))

    @property
    def channels(self) -> tuple[ContactChannel, ...]:
        """Channels that alerts go out on: those whose contact is proven."""
        return tuple(channel for channel in CONTACT_CHANNELS if self.is_verified(channel))

    @property
    def pending_channels(self) -> tuple[ContactChannel, ...]:
        return tuple(channel for channel in self.entered_channels if not self.is_verified(channel))

    def with_contacts_verified(self) -> CalendarSettings:
        """These settings with every entered contact marked proven: what an operator's import
        may do, for contacts the platform already knows to be the practitioner's."""
        return self.model_copy(
            update={"verified_mobile": self.alert_mobile, "verified_email": self.alert_email}
        )

    def keeping_proof_of(self, previous: CalendarSettings | None) -> CalendarSettings:
        """These newly entered settings, with each contact still proven if it is the one
        ``previous`` had proven; any other contact is pending, and a deleted one keeps no proof."""
        return self.model_copy(
            update={
                "verified_mobile": self.alert_mobile
                if previous is not None
                and previous.is_verified("sms")
                and previous.alert_mobile == self.alert_mobile
                else None,
                "verified_email": self.alert_email
                if previous is not None
                and previous.is_verified("email")
                and previous.alert_email == self.alert_email
                else None,
            }
        )

    @property
    def email_is_spam_prone(self) -> bool:
        return self.alert_email is not None and is_spam_prone(self.alert_email)
