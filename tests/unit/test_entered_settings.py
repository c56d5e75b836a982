"""What a practitioner meets when saving settings, decided in the domain: which names, numbers and
addresses are refused and with what message, which proof a contact keeps, and how one-time codes
work. tests/api shows the same rules through the settings API on moto; these run in-process in
milliseconds, so `make mutate` checks each rule against them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from email_validator import EmailNotValidError, validate_email
from pydantic import ValidationError

from practitioner_alerts.domain.settings import (
    REFUSAL_REASONS,
    CalendarSettings,
    display_email,
    entering,
    is_spam_prone,
    normalize_email,
    practitioner_name_problem,
    sms_country_problem,
)
from practitioner_alerts.domain.verification import issue, matches, typed_code

FR_MOBILE = "+33612345678"
DE_MOBILE = "+4915123456789"


def entered(**fields: object) -> CalendarSettings:
    return CalendarSettings.model_validate({"calendar_id": "cal-1", **fields}, context=entering())


def refusal(**fields: object) -> str:
    """The one error's message; its type is the reason a page translates (REFUSAL_REASONS)."""
    with pytest.raises(ValidationError) as raised:
        entered(**fields)
    [error] = raised.value.errors()
    assert error["type"] in REFUSAL_REASONS
    return str(error["msg"])


# ------------------------------------------------------------------------------------------------
# The practitioner's name, as entered
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Dr. " + "A" * 77, "must be at most 80 characters"),
        ("Dr. Weber\nRuf an", "must be one line of plain text, without control or bidi characters"),
        ("Dr. \u202eWeber", "must be one line of plain text, without control or bidi characters"),
        ("Dr. Weber\u2028Ruf an", "must be one line of plain text, without control or bidi characters"),
        ("Dr. Weber\u2029Ruf an", "must be one line of plain text, without control or bidi characters"),
        ("Dr. Weber https://praxis.example", "must not contain a web address or an e-mail address"),
        ("Dr. Weber www.gewinn.example", "must not contain a web address or an e-mail address"),
        ("Dr. Weber praxis-weber.de", "must not contain a web address or an e-mail address"),
        ("Dr. Weber info@praxis", "must not contain a web address or an e-mail address"),
        ("Dr. Weber 0151 2", "must not contain a phone number"),
    ],
)
def test_a_name_that_is_not_just_a_name_is_refused_saying_why(name: str, message: str) -> None:
    assert practitioner_name_problem(name) == message
    assert refusal(practitioner_name=name) == message


@pytest.mark.parametrize(
    "name",
    [
        "Dr. " + "A" * 76,  # 80 characters
        "Dr. med. Anna Müller-Lüdenscheidt",
        "Dr. A. Weber (Raum 1234)",  # four digits are a room, not a phone number
        "محمد\u200cرضا",  # Persian needs the zero-width non-joiner
        "अनु\u200dराधा",  # and Indic scripts the zero-width joiner
        "Dr. Weber. Praxis",  # a full stop and a capital are not a domain
    ],
)
def test_real_names_are_accepted_as_typed(name: str) -> None:
    assert practitioner_name_problem(name) is None
    assert entered(practitioner_name=name).practitioner_name == name


def test_a_name_saved_under_older_rules_still_reads() -> None:
    stored = CalendarSettings.model_validate({"calendar_id": "cal-1", "practitioner_name": "Dr. W 0151 2345"})
    assert stored.practitioner_name == "Dr. W 0151 2345"


# ------------------------------------------------------------------------------------------------
# Where SMS may go
# ------------------------------------------------------------------------------------------------
def test_a_number_of_a_country_not_allowed_is_refused_naming_the_allowed_ones() -> None:
    message = "is a number of FR; SMS alerts go only to mobile numbers of AT, CH, DE"
    assert sms_country_problem(FR_MOBILE, frozenset({"DE", "CH", "AT"})) == message
    with pytest.raises(ValidationError) as raised:
        CalendarSettings.model_validate(
            {"calendar_id": "cal-1", "alert_mobile": FR_MOBILE},
            context=entering(frozenset({"DE", "CH", "AT"})),
        )
    assert raised.value.errors()[0]["msg"] == message


def test_a_number_of_an_allowed_country_is_accepted() -> None:
    assert sms_country_problem(DE_MOBILE, frozenset({"DE"})) is None
    assert entered(alert_mobile=DE_MOBILE).alert_mobile == DE_MOBILE


def test_a_number_of_no_country_is_refused_naming_the_allowed_ones() -> None:
    assert sms_country_problem("+881631234567", frozenset({"DE", "AT"})) == (
        "is not a number of any country; SMS go only to mobile numbers of AT, DE"
    )


@pytest.mark.parametrize(
    ("time_zone", "typed", "saved"),
    [
        ("Europe/Berlin", "0151 23456789", "+4915123456789"),
        ("Europe/Vienna", "0664 1234567", "+436641234567"),
        ("Europe/Zurich", "079 123 45 67", "+41791234567"),
        ("UTC", "0151 23456789", "+4915123456789"),  # a zone of no country: read as German
        ("Europe/Vienna", "+49 151 23456789", "+4915123456789"),
    ],
)
def test_a_number_typed_without_a_country_code_is_read_in_the_calendars_country(
    time_zone: str, typed: str, saved: str
) -> None:
    assert entered(time_zone=time_zone, alert_mobile=typed).alert_mobile == saved


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("call me", "is not a phone number"),
        ("+49 151", "is not a valid phone number"),
        ("+881631234567", "is a satellite or other non-geographic number; alerts go to mobile numbers only"),
        ("030 1234567", "is not a mobile number; SMS cannot reach a landline"),
    ],
)
def test_a_number_no_sms_can_reach_is_refused_saying_why(typed: str, message: str) -> None:
    assert refusal(alert_mobile=typed) == message


def test_a_stored_number_of_a_country_since_disallowed_still_reads() -> None:
    # The sender refuses it when it sends; reading the settings must not fail the calendar.
    stored = CalendarSettings.model_validate({"calendar_id": "cal-1", "alert_mobile": FR_MOBILE})
    assert stored.alert_mobile == FR_MOBILE


# ------------------------------------------------------------------------------------------------
# E-mail addresses
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "address", ["praxis@hotmail.de", "Praxis@Outlook.com", "praxis@live.co.uk", "praxis@msn.com"]
)
def test_microsofts_consumer_mailboxes_are_spam_prone_in_every_country_variant(address: str) -> None:
    assert is_spam_prone(address)
    assert entered(alert_email=address).email_is_spam_prone


@pytest.mark.parametrize(
    "address", ["praxis@gmail.com", "live@praxis.de", "praxis@hotmail-praxis.de", "praxis@mail.outlook.de"]
)
def test_other_mailboxes_are_not_spam_prone(address: str) -> None:
    assert not is_spam_prone(address)
    assert not entered(alert_email=address).email_is_spam_prone


def test_no_address_is_not_spam_prone() -> None:
    assert not entered().email_is_spam_prone


def test_an_address_is_saved_with_its_domain_in_punycode() -> None:
    assert entered(alert_email="praxis@bücher.de").alert_email == "praxis@xn--bcher-kva.de"
    assert entered(alert_email="praxis@example.de").alert_email == "praxis@example.de"


def test_a_malformed_address_is_refused_with_the_validators_reason() -> None:
    with pytest.raises(EmailNotValidError) as raised:
        validate_email("praxis@@example.de", check_deliverability=False)
    assert refusal(alert_email="praxis@@example.de") == str(raised.value)
    with pytest.raises(ValueError, match=re.escape(str(raised.value))):
        normalize_email("praxis@@example.de", entered=False)


def test_an_address_whose_part_before_the_at_is_not_ascii_is_refused_when_entered() -> None:
    message = (
        "the part before the @ (müller) has letters outside ASCII, and e-mail cannot be sent to such an "
        "address here; use an address whose part before the @ is plain ASCII"
    )
    assert refusal(alert_email="müller@example.de") == message
    with pytest.raises(ValueError) as raised:
        normalize_email("müller@example.de")  # checked without saying how: as if entered
    assert str(raised.value) == message
    stored = CalendarSettings.model_validate({"calendar_id": "cal-1", "alert_email": "müller@example.de"})
    assert stored.alert_email == "müller@example.de"


def test_an_address_is_shown_with_its_domain_in_unicode() -> None:
    assert display_email("praxis@xn--bcher-kva.de") == "praxis@bücher.de"


def test_an_address_that_cannot_be_read_is_shown_as_stored() -> None:
    assert display_email("not an address") == "not an address"


# ------------------------------------------------------------------------------------------------
# Which proof a newly entered contact keeps
# ------------------------------------------------------------------------------------------------
def proven(mobile: str | None = DE_MOBILE, email: str | None = "praxis@example.de") -> CalendarSettings:
    return entered(alert_mobile=mobile, alert_email=email).with_contacts_verified()


def test_contacts_saved_again_unchanged_stay_proven() -> None:
    again = entered(alert_mobile=DE_MOBILE, alert_email="praxis@example.de").keeping_proof_of(proven())
    assert (again.sms_recipient, again.email_recipient) == (DE_MOBILE, "praxis@example.de")


def test_a_changed_contact_is_pending_and_the_other_stays_proven() -> None:
    changed = entered(alert_mobile="+4915199999999", alert_email="praxis@example.de").keeping_proof_of(
        proven()
    )
    assert changed.pending_channels == ("sms",)
    assert changed.channels == ("email",)
    changed = entered(alert_mobile=DE_MOBILE, alert_email="neu@example.de").keeping_proof_of(proven())
    assert (changed.pending_channels, changed.channels) == (("email",), ("sms",))


def test_contacts_of_a_new_calendar_are_pending() -> None:
    new = entered(alert_mobile=DE_MOBILE, alert_email="praxis@example.de").keeping_proof_of(None)
    assert (new.pending_channels, new.channels) == (("sms", "email"), ())


def test_a_contact_that_was_pending_before_stays_pending() -> None:
    before = entered(alert_mobile=DE_MOBILE, alert_email="praxis@example.de")
    again = entered(alert_mobile=DE_MOBILE, alert_email="praxis@example.de").keeping_proof_of(before)
    assert (again.pending_channels, again.channels) == (("sms", "email"), ())


def test_a_proven_number_stays_proven_beside_a_pending_address() -> None:
    before = proven().model_copy(update={"verified_email": None})
    again = entered(alert_mobile=DE_MOBILE, alert_email="praxis@example.de").keeping_proof_of(before)
    assert (again.channels, again.pending_channels) == (("sms",), ("email",))


def test_a_deleted_contact_keeps_no_proof() -> None:
    after = entered(alert_mobile=None, alert_email="praxis@example.de").keeping_proof_of(proven())
    assert (after.verified_mobile, after.channels) == (None, ("email",))


# ------------------------------------------------------------------------------------------------
# One-time codes
# ------------------------------------------------------------------------------------------------
NOW = datetime(2027, 9, 8, 10, 0, tzinfo=UTC)


def test_a_code_lives_fifteen_minutes_takes_five_attempts_and_another_comes_after_a_minute() -> None:
    pending = issue(calendar_id="cal-1", channel="sms", contact=DE_MOBILE, code="123456", salt="s1", now=NOW)
    assert pending.attempts_left == 5
    assert not pending.expired(NOW + timedelta(minutes=15) - timedelta(seconds=1))
    assert pending.expired(NOW + timedelta(minutes=15))
    assert pending.resend_after() == int((NOW + timedelta(seconds=60)).timestamp())
    assert "123456" not in repr(pending)


def test_the_code_proves_only_the_contact_channel_and_calendar_it_was_sent_for() -> None:
    pending = issue(calendar_id="cal-1", channel="sms", contact=DE_MOBILE, code="123456", salt="s1", now=NOW)
    assert matches(pending, calendar_id="cal-1", channel="sms", contact=DE_MOBILE, code="123456")
    assert not matches(pending, calendar_id="cal-1", channel="sms", contact=DE_MOBILE, code="123457")
    assert not matches(pending, calendar_id="cal-1", channel="sms", contact="+4915199999999", code="123456")
    assert not matches(pending, calendar_id="cal-1", channel="email", contact=DE_MOBILE, code="123456")
    assert not matches(pending, calendar_id="cal-2", channel="sms", contact=DE_MOBILE, code="123456")


def test_the_same_code_for_the_same_contact_is_stored_differently_under_another_salt() -> None:
    one = issue(calendar_id="cal-1", channel="sms", contact=DE_MOBILE, code="123456", salt="s1", now=NOW)
    other = issue(calendar_id="cal-1", channel="sms", contact=DE_MOBILE, code="123456", salt="s2", now=NOW)
    assert one.code_hash != other.code_hash
    assert matches(other, calendar_id="cal-1", channel="sms", contact=DE_MOBILE, code="123456")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("123456", "123456"),
        ("123 456", "123456"),
        ("123-456", "123456"),
        (" 12 34 56\t", "123456"),
        ("12345", None),
        ("1234567", None),
        ("12345a", None),
        ("123_456", None),
        ("", None),
    ],
)
def test_a_code_may_be_typed_with_spaces_or_a_hyphen_but_must_be_six_digits(
    typed: str, code: str | None
) -> None:
    assert typed_code(typed) == code
