"""GET and PUT /calendars/{calendar_id}/alert-settings: defaults, round trips, the validation
matrix (every refusal names its field and stores nothing) and the localized advice."""

from __future__ import annotations

from typing import Any

import pytest

from practitioner_alerts.adapters.dynamodb import DeliveryFailure, DeliveryLogTable
from practitioner_alerts.domain.settings import CalendarSettings, contact_digest
from tests.api.conftest import ApiClient, Stack

SETTINGS = "/calendars/cal-a/alert-settings"


def test_a_calendar_without_settings_shows_the_defaults(client: ApiClient) -> None:
    reply = client.get(SETTINGS)
    assert reply.status == 200
    assert reply.body == {
        "calendar_id": "cal-a",
        "alert_email": None,
        "alert_email_ascii": None,
        "alert_mobile": None,
        "time_zone": "Europe/Berlin",
        "locale": "de",
        "practitioner_name": None,
        "channels": ["in_app"],
        "verification": {},
        "visit_motive_in_email": False,
        "explanations": {
            "visit_motive_in_email": "Der Besuchsgrund ist eine Gesundheitsangabe. Schalten Sie ihn für "
            "E-Mails nur ein, wenn das Postfach nur Ihnen und Ihrem Praxisteam zugänglich ist. Per SMS "
            "wird er nie gesendet."
        },
        "warnings": [
            {
                "code": "no_contact",
                "message": "Es ist weder eine E-Mail-Adresse noch eine Mobilnummer hinterlegt. "
                "Benachrichtigungen erscheinen nur im Kalender.",
                "channel": None,
            }
        ],
        "last_delivery_failures": {},
    }


def test_saved_settings_are_stored_normalized_and_read_back(client: ApiClient, stack: Stack) -> None:
    saved = client.put(
        SETTINGS,
        {
            "alert_email": "Praxis.Weber@Example.COM",
            "alert_mobile": "0151 23456789",
            "time_zone": "Europe/Berlin",
            "locale": "en",
            "practitioner_name": "Dr. Anna Weber",
        },
    )
    assert saved.status == 200
    assert saved.body["alert_mobile"] == "+4915123456789"
    assert saved.body["alert_email"] == "Praxis.Weber@example.com"
    # New contacts wait for their codes: only the feed gets alerts meanwhile.
    assert saved.body["channels"] == ["in_app"]
    assert saved.body["verification"] == {"sms": "pending", "email": "pending"}
    assert [(w["code"], w["channel"]) for w in saved.body["warnings"]] == [
        ("contact_not_verified", "sms"),
        ("contact_not_verified", "email"),
    ]

    stored = stack.settings.get("cal-a")
    assert stored is not None and stored.alert_mobile == "+4915123456789" and stored.locale == "en"
    assert client.get(SETTINGS).body == saved.body


@pytest.mark.parametrize("off", [None, "", "   "])
def test_an_empty_contact_switches_its_channel_off(client: ApiClient, stack: Stack, off: Any) -> None:
    both = {"alert_email": "praxis@example.com", "alert_mobile": "0151 23456789"}
    assert client.save_confirmed(stack, "cal-a", both).body["channels"] == ["sms", "email", "in_app"]
    reply = client.put(SETTINGS, {"alert_email": off, "alert_mobile": "0151 23456789"})
    assert reply.status == 200
    assert reply.body["alert_email"] is None
    assert reply.body["channels"] == ["sms", "in_app"]
    assert reply.body["verification"] == {"sms": "verified"}


def test_a_missing_contact_switches_its_channel_off_too(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(
        stack, "cal-a", {"alert_email": "praxis@example.com", "alert_mobile": "0151 23456789"}
    )
    reply = client.put(SETTINGS, {"alert_email": "praxis@example.com"})
    assert reply.body["channels"] == ["email", "in_app"]


# ------------------------------------------------------------------------------------------------
# Mobile numbers: national numbers are read in the calendar's country (from its time zone)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mobile", "time_zone", "stored"),
    [
        ("0151 23456789", "Europe/Berlin", "+4915123456789"),
        ("+49 151 23456789", "Europe/Berlin", "+4915123456789"),
        ("0049 151 23456789", "Europe/Berlin", "+4915123456789"),
        ("+49 (0)151 / 234 567 89", "Europe/Berlin", "+4915123456789"),
        ("+33 6 12 34 56 78", "Europe/Berlin", "+33612345678"),
        ("06 12 34 56 78", "Europe/Paris", "+33612345678"),
        ("0151 23456789", "Europe/Paris", None),  # read as French: not a French mobile
        ("+49 151 23456789", "Europe/Paris", "+4915123456789"),
    ],
)
def test_mobile_numbers_national_and_international(
    client: ApiClient, mobile: str, time_zone: str, stored: str | None
) -> None:
    reply = client.put(SETTINGS, {"alert_mobile": mobile, "time_zone": time_zone})
    if stored is None:
        assert reply.status == 422
        assert [e["field"] for e in reply.body["errors"]] == ["alert_mobile"]
    else:
        assert reply.status == 200, reply.body
        assert reply.body["alert_mobile"] == stored


@pytest.mark.parametrize(
    ("mobile", "says"),
    [
        ("030 1234567", "SMS cannot reach a landline"),
        ("+49 30 1234567", "SMS cannot reach a landline"),
        ("0049 30 1234567", "SMS cannot reach a landline"),
        ("+33 1 23 45 67 89", "SMS cannot reach a landline"),
        ("0151 234", "not a valid phone number"),
        ("call me", "not a phone number"),
    ],
)
def test_landlines_and_non_numbers_are_refused_naming_the_field(
    client: ApiClient, stack: Stack, mobile: str, says: str
) -> None:
    reply = client.put(SETTINGS, {"alert_mobile": mobile})
    assert reply.status == 422
    assert reply.body["code"] == "invalid_settings"
    [error] = reply.body["errors"]
    assert error["field"] == "alert_mobile"
    assert error["message"].startswith("alert_mobile: ") and says in error["message"]
    assert stack.settings_items() == []


# ------------------------------------------------------------------------------------------------
# E-mail addresses: syntax only (no DNS), internationalised addresses welcome
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("email", "shown", "sent_to"),
    [
        ("praxis@müller-beispiel.de", "praxis@müller-beispiel.de", "praxis@xn--mller-beispiel-gsb.de"),
        ("praxis@xn--bcher-kva.de", "praxis@bücher.de", "praxis@xn--bcher-kva.de"),
        ("dr.weber+alerts@example.com", "dr.weber+alerts@example.com", "dr.weber+alerts@example.com"),
        ("  praxis@example.com  ", "praxis@example.com", "praxis@example.com"),
    ],
)
def test_email_addresses_accepted(
    client: ApiClient, stack: Stack, email: str, shown: str, sent_to: str
) -> None:
    reply = client.put(SETTINGS, {"alert_email": email})
    assert reply.status == 200, reply.body
    assert (reply.body["alert_email"], reply.body["alert_email_ascii"]) == (shown, sent_to)
    # Stored, and sent to, in the form SES takes: the domain in Punycode.
    stored = stack.settings.get("cal-a")
    assert stored is not None and stored.alert_email == sent_to
    assert list(stack.codes()) == [("email", sent_to)]


def test_an_address_read_back_and_saved_again_stays_verified(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", {"alert_email": "praxis@bücher.de"})
    shown = client.get(SETTINGS).body
    again = client.put(SETTINGS, {"alert_email": shown["alert_email"]})
    assert again.body["verification"] == {"email": "verified"}


@pytest.mark.parametrize("email", ["müller@beispiel.de", "dr.größe@example.com"])
def test_a_part_before_the_at_outside_ascii_is_refused_saying_why(
    client: ApiClient, stack: Stack, email: str
) -> None:
    reply = client.put(SETTINGS, {"alert_email": email})
    assert reply.status == 422
    [error] = reply.body["errors"]
    assert error["field"] == "alert_email" and "outside ASCII" in error["message"]
    assert stack.settings_items() == []


@pytest.mark.parametrize("email", ["a@@b", "praxis@", "@example.com", "no-at-sign", "a b@example.com"])
def test_bad_email_addresses_are_refused_naming_the_field(
    client: ApiClient, stack: Stack, email: str
) -> None:
    reply = client.put(SETTINGS, {"alert_email": email})
    assert reply.status == 422
    [error] = reply.body["errors"]
    assert error["field"] == "alert_email" and error["message"].startswith("alert_email: ")
    assert stack.settings_items() == []


# ------------------------------------------------------------------------------------------------
# Time zone and locale
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "time_zone",
    [
        "Mars/Olympus_Mons",
        "Berlin",
        "CEST",
        "Europe/berlin",
        "localtime",
        "Factory",
        "Europe/Kiev",
        "US/Eastern",
    ],
)
def test_unknown_time_zones_are_refused(client: ApiClient, time_zone: str) -> None:
    reply = client.put(SETTINGS, {"time_zone": time_zone})
    assert reply.status == 422
    assert reply.body["errors"] == [
        {
            "field": "time_zone",
            "message": "time_zone: is not an IANA time zone name such as Europe/Berlin",
            "reason": "unknown_time_zone",  # for a page to say in its own language
            "details": None,
        }
    ]


@pytest.mark.parametrize("locale", ["es", "EN", "de-DE", "deutsch"])
def test_unsupported_locales_are_refused(client: ApiClient, locale: str) -> None:
    reply = client.put(SETTINGS, {"locale": locale})
    assert reply.status == 422
    [error] = reply.body["errors"]
    assert error["field"] == "locale" and error["message"].startswith("locale: ")
    assert all(code in error["message"] for code in ("'de'", "'en'", "'fr'", "'it'"))


def test_every_bad_field_gets_its_own_message_and_nothing_is_stored(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, {"alert_email": "before@example.com"})
    reply = client.put(
        SETTINGS,
        {"alert_email": "a@@b", "alert_mobile": "030 1234567", "time_zone": "Mars/X", "locale": "es"},
    )
    assert reply.status == 422
    assert {e["field"] for e in reply.body["errors"]} == {
        "alert_email",
        "alert_mobile",
        "time_zone",
        "locale",
    }
    for error in reply.body["errors"]:
        assert error["message"].startswith(f"{error['field']}: ")
    stored = stack.settings.get("cal-a")
    assert stored is not None and stored.alert_email == "before@example.com"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alert_email": 42}, "alert_email"),
        ({"unknown_field": "x"}, "unknown_field"),
        ({"practitioner_name": "x" * 201}, "practitioner_name"),
        ("not an object", "body"),
    ],
)
def test_malformed_requests_name_the_field(client: ApiClient, stack: Stack, body: Any, field: str) -> None:
    reply = client.put(SETTINGS, body)
    assert reply.status == 422
    assert [e["field"] for e in reply.body["errors"]] == [field]
    assert stack.settings_items() == []


def test_a_body_that_is_not_json_is_refused(client: ApiClient, stack: Stack) -> None:
    token = client.issuer.issue_token(["cal-a"])
    response = client.gateway.handle_http(
        "PUT",
        SETTINGS,
        [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")],
        b"{nope",
    )
    assert response.status == 422
    assert b'"field":"body"' in response.body
    assert stack.settings_items() == []


# ------------------------------------------------------------------------------------------------
# Advice on spam-prone mailboxes, in the calendar's language
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "email",
    ["praxis@hotmail.de", "praxis@hotmail.co.uk", "praxis@outlook.fr", "praxis@live.de", "praxis@msn.com"],
)
def test_spam_prone_mailboxes_are_accepted_with_german_advice(client: ApiClient, email: str) -> None:
    reply = client.put(SETTINGS, {"alert_email": email, "locale": "de"})
    assert reply.status == 200
    assert reply.body["alert_email"] == email
    assert spam_advice(reply.body) == [
        {
            "code": "spam_prone_mailbox",
            "message": "E-Mails an Hotmail-, Outlook- und Live-Adressen landen manchmal im Spam-Ordner. "
            "Sehen Sie dort nach oder verwenden Sie eine andere Adresse.",
            "channel": "email",
        }
    ]


def spam_advice(settings: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for w in settings["warnings"] if w["code"] == "spam_prone_mailbox"]


def test_spam_prone_mailbox_advice_in_english(client: ApiClient) -> None:
    reply = client.put(SETTINGS, {"alert_email": "praxis@outlook.com", "locale": "en"})
    assert spam_advice(reply.body) == [
        {
            "code": "spam_prone_mailbox",
            "message": "E-mails to Hotmail, Outlook and Live addresses sometimes end up in the spam folder. "
            "Check it, or use a different address.",
            "channel": "email",
        }
    ]
    # The advice is recomputed on read, in the stored language.
    assert client.get(SETTINGS).body["warnings"] == reply.body["warnings"]


@pytest.mark.parametrize("locale", ["fr", "it"])
def test_spam_prone_mailbox_advice_in_french_and_italian(client: ApiClient, locale: str) -> None:
    reply = client.put(SETTINGS, {"alert_email": "praxis@live.fr", "locale": locale})
    [advice] = spam_advice(reply.body)
    assert advice["code"] == "spam_prone_mailbox"
    assert "Hotmail" in advice["message"] and "E-Mails" not in advice["message"]


@pytest.mark.parametrize("email", ["praxis@example.com", "praxis@livemail.example", "praxis@gmx.de"])
def test_other_mailboxes_get_no_advice(client: ApiClient, email: str) -> None:
    assert spam_advice(client.put(SETTINGS, {"alert_email": email}).body) == []


def test_the_last_delivery_failure_shows_until_the_contact_is_changed(
    client: ApiClient, stack: Stack
) -> None:
    log = DeliveryLogTable(stack.dynamodb, stack.delivery_log_table)
    client.put(SETTINGS, {"alert_email": "praxis@example.com", "alert_mobile": "0151 23456789"})
    # As the sender and the delivery receipts record them: naming the contact by its digest.
    log.record_failure(
        "cal-a",
        DeliveryFailure(
            "email", "bounce: Permanent/General", "2027-09-08T11:05:00Z", contact_digest("praxis@example.com")
        ),
        1,
    )
    log.record_failure(
        "cal-a",
        DeliveryFailure(
            "sms", "sns.Publish: InvalidParameter", "2027-09-08T11:06:00Z", contact_digest("+4915123456789")
        ),
        1,
    )

    shown = client.get(SETTINGS).body["last_delivery_failures"]
    assert shown == {
        "email": {"reason": "bounce: Permanent/General", "failed_at": "2027-09-08T11:05:00Z"},
        "sms": {"reason": "sns.Publish: InvalidParameter", "failed_at": "2027-09-08T11:06:00Z"},
    }

    # The practitioner fixes the address: its old bounce no longer applies; the SMS one stays.
    client.put(SETTINGS, {"alert_email": "praxis.neu@example.com", "alert_mobile": "0151 23456789"})
    assert set(client.get(SETTINGS).body["last_delivery_failures"]) == {"sms"}
    # Nothing was deleted to get there: going back to the old address shows its bounce again.
    assert len(stack.dynamodb.scan(TableName=stack.delivery_log_table)["Items"]) == 2
    client.put(SETTINGS, {"alert_email": "praxis@example.com", "alert_mobile": "0151 23456789"})
    assert set(client.get(SETTINGS).body["last_delivery_failures"]) == {"sms", "email"}


# ------------------------------------------------------------------------------------------------
# The practitioner's name: a name, not a place for links or phone numbers
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Dr. " + "A" * 77, "at most 80 characters"),
        ("Dr. Weber https://praxis.example", "web address"),
        ("Dr. Weber www.gewinn.example", "web address"),
        ("Dr. Weber praxis-weber.de", "web address"),
        ("Dr. Weber info@praxis.example", "e-mail address"),
        ("Dr. Weber 0151 23456789", "phone number"),
        ("Dr. \u202eWeber", "bidi"),
        ("Dr. Weber\nRuf an", "one line"),
        ("Dr.\x00Weber", "control"),
    ],
)
def test_a_name_that_is_not_just_a_name_is_refused(
    client: ApiClient, stack: Stack, name: str, says: str
) -> None:
    reply = client.put(SETTINGS, {"practitioner_name": name})
    assert reply.status == 422
    [error] = reply.body["errors"]
    assert error["field"] == "practitioner_name" and says in error["message"]
    assert stack.settings_items() == []


@pytest.mark.parametrize(
    "name",
    [
        "Dr. med. Anna Müller-Lüdenscheidt",
        "Praxis Dr. Weber & Kollegen",
        "Dr. A. Weber (2. OG)",
        "محمد\u200cرضا",
    ],
)
def test_real_names_are_accepted(client: ApiClient, name: str) -> None:
    reply = client.put(SETTINGS, {"practitioner_name": name})
    assert reply.status == 200 and reply.body["practitioner_name"] == name


def test_a_long_name_does_not_hide_the_other_errors(client: ApiClient) -> None:
    reply = client.put(
        SETTINGS, {"practitioner_name": "x" * 300, "alert_email": "a@@b", "alert_mobile": "030 1234567"}
    )
    assert reply.status == 422
    assert {e["field"] for e in reply.body["errors"]} == {"practitioner_name", "alert_email", "alert_mobile"}


def test_an_address_stored_before_the_ascii_rule_is_still_read() -> None:
    # Refused when entered; settings saved before keep alerting the feed, and their e-mails'
    # failures show in the settings, instead of parking every alert of the calendar.
    stored = CalendarSettings.model_validate({"calendar_id": "cal-a", "alert_email": "müller@beispiel.de"})
    assert stored.alert_email == "müller@beispiel.de"
    assert CalendarSettings.model_validate(
        {"calendar_id": "cal-a", "alert_email": "a@bücher.de"}
    ).alert_email == ("a@xn--bcher-kva.de")


@pytest.mark.parametrize("time_zone", ["Europe/Kyiv", "America/New_York", "UTC", "Europe/Zurich"])
def test_canonical_time_zones_are_accepted(client: ApiClient, time_zone: str) -> None:
    assert client.put(SETTINGS, {"time_zone": time_zone}).status == 200


def test_a_time_zone_stored_under_an_alias_still_reads() -> None:
    assert CalendarSettings(calendar_id="cal-a", time_zone="Europe/Kiev").time_zone == "Europe/Kiev"
