"""Contact verification: a new contact is pending until the code sent to it is typed back in.

The codes are read from the notification queue, where the sender would pick them up: that is
what the owner of the number or address would see, and nothing else hands them out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from practitioner_alerts.adapters.sqs import NotificationQueue
from practitioner_alerts.domain.notifications import Notification
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.rendering import render_email, render_sms
from practitioner_alerts.settings_api import SettingsService
from practitioner_alerts.settings_api.models import AlertSettingsInput
from practitioner_alerts.settings_api.service import ApiProblem
from tests.api.conftest import ApiClient, Stack

SETTINGS = "/calendars/cal-a/alert-settings"
REQUEST = f"{SETTINGS}/verification"
CONFIRM = f"{SETTINGS}/verification/confirm"
MOBILE = "+4915123456789"
CONTACTS = {
    "alert_mobile": "0151 23456789",
    "alert_email": "praxis@example.com",
    "practitioner_name": "Dr. Anna Weber",
    "locale": "en",
}


def queued_notifications(stack: Stack) -> list[Notification]:
    return [Notification.model_validate_json(m["Body"]) for m in stack.queued()]


def test_a_new_contact_is_pending_and_gets_only_a_code(client: ApiClient, stack: Stack) -> None:
    saved = client.put(SETTINGS, CONTACTS)

    assert saved.status == 200
    assert saved.body["verification"] == {"sms": "pending", "email": "pending"}
    assert saved.body["channels"] == ["in_app"]
    codes = queued_notifications(stack)
    assert {(n.channel, n.to, n.alert.kind) for n in codes} == {
        ("sms", MOBILE, "verification"),
        ("email", "praxis@example.com", "verification"),
    }
    for notification in codes:
        code = notification.alert.verification_code
        assert code is not None and len(code) == 6 and code.isdigit()
        # Nothing from the request but the calendar's id: no practitioner's name, no patient.
        assert notification.alert.practitioner_name is None
        assert notification.alert.patient_last_name is None and notification.alert.visit_motive is None
        email = render_email(notification.alert)
        for text in (render_sms(notification.alert), email.text, email.html):
            assert code in text and "cal-a" in text and "Practitioner Alerts" in text
        for text in (render_sms(notification.alert), email.subject, email.text, email.html):
            assert "Weber" not in text


def test_codes_are_stored_only_as_hashes(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, CONTACTS)
    codes = set(stack.codes().values())
    stored = json.dumps(stack.settings_items())
    values = [
        value
        for item in stack.settings_items()
        for attribute in item.values()
        for value in attribute.values()
    ]
    assert codes and not codes & set(map(str, values))
    assert stored.count('"code_hash"') == 2


def test_the_right_code_verifies_the_contact_and_alerts_go_to_it(client: ApiClient, stack: Stack) -> None:
    saved = client.put(SETTINGS, CONTACTS)
    codes = stack.codes()

    confirmed = client.post(CONFIRM, {"channel": "sms", "code": codes[("sms", MOBILE)]})

    assert confirmed.status == 200
    assert confirmed.body["verification"] == {"sms": "verified", "email": "pending"}
    assert confirmed.body["channels"] == ["sms", "in_app"]
    assert confirmed.headers["etag"] != saved.headers["etag"]
    assert client.get(SETTINGS).body == confirmed.body
    stored = stack.settings.get("cal-a")
    assert stored is not None and stored.sms_recipient == MOBILE and stored.email_recipient is None
    # Used once: the code is gone.
    again = client.post(CONFIRM, {"channel": "sms", "code": codes[("sms", MOBILE)]})
    assert again.status == 200 and again.body["verification"]["sms"] == "verified"


@pytest.mark.parametrize("typed", ["{} {}", "{}-{}"])
def test_codes_may_be_typed_with_a_space_or_hyphen(client: ApiClient, stack: Stack, typed: str) -> None:
    client.put(SETTINGS, {"alert_mobile": "0151 23456789"})
    [code] = stack.codes().values()
    reply = client.post(CONFIRM, {"channel": "sms", "code": typed.format(code[:3], code[3:])})
    assert reply.status == 200 and reply.body["verification"] == {"sms": "verified"}


def test_five_wrong_codes_use_the_code_up(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, {"alert_mobile": "0151 23456789"})
    [code] = stack.codes().values()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    replies = [client.post(CONFIRM, {"channel": "sms", "code": wrong}) for _ in range(5)]

    assert [r.status for r in replies] == [422] * 5
    assert {r.body["code"] for r in replies} == {"wrong_code"}
    messages = [r.body["errors"][0]["message"] for r in replies]
    assert messages[0] == "code: is not the code that was sent; 4 attempts left"
    assert messages[3].endswith("1 attempt left")
    assert messages[4].endswith("no attempts left; request a new code")
    # The same count as a figure, for a page that says it in another language.
    details = [r.body["errors"][0]["details"] for r in replies]
    assert details == [{"attempts_left": n} for n in (4, 3, 2, 1, 0)]
    # Even the right code no longer works.
    used_up = client.post(CONFIRM, {"channel": "sms", "code": code})
    assert used_up.status == 409 and used_up.body["code"] == "code_expired"
    assert client.get(SETTINGS).body["verification"] == {"sms": "pending"}


@pytest.mark.parametrize("typed", ["12345", "1234567", "abcdef", " "])
def test_something_that_is_not_a_code_names_the_field(client: ApiClient, stack: Stack, typed: str) -> None:
    client.put(SETTINGS, {"alert_mobile": "0151 23456789"})
    reply = client.post(CONFIRM, {"channel": "sms", "code": typed})
    assert reply.status == 422
    assert [e["field"] for e in reply.body["errors"]] == ["code"]


def test_a_code_for_one_number_does_not_prove_another(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, {"alert_mobile": "0151 23456789"})
    [first] = stack.codes().values()
    client.put(SETTINGS, {"alert_mobile": "0151 98765432"})
    reply = client.post(CONFIRM, {"channel": "sms", "code": first})
    assert reply.status == 422 and reply.body["code"] == "wrong_code"


def test_confirming_a_contact_that_is_not_saved_is_a_conflict(client: ApiClient, stack: Stack) -> None:
    reply = client.post(CONFIRM, {"channel": "email", "code": "123456"})
    assert reply.status == 409 and reply.body["code"] == "nothing_to_verify"


def test_saving_the_same_verified_contact_again_keeps_it_verified(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", CONTACTS)

    again = client.put(SETTINGS, {**CONTACTS, "alert_mobile": "+49 151 234 567 89", "locale": "de"})

    assert again.body["verification"] == {"sms": "verified", "email": "verified"}
    assert again.body["channels"] == ["sms", "email", "in_app"]
    assert stack.queued() == []  # no new code for a contact that is proven


def test_a_changed_contact_is_pending_again_and_gets_a_new_code(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", CONTACTS)

    changed = client.put(SETTINGS, {**CONTACTS, "alert_email": "praxis.neu@example.com"})

    assert changed.body["verification"] == {"sms": "verified", "email": "pending"}
    assert changed.body["channels"] == ["sms", "in_app"]
    assert list(stack.codes()) == [("email", "praxis.neu@example.com")]


def test_deleting_a_contact_switches_it_off_and_forgets_its_proof(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", CONTACTS)

    deleted = client.put(SETTINGS, {**CONTACTS, "alert_mobile": None})
    assert deleted.body["verification"] == {"email": "verified"}
    assert deleted.body["channels"] == ["email", "in_app"]
    stored = stack.settings.get("cal-a")
    assert stored is not None and stored.verified_mobile is None

    # Entered again after the deletion, the number has to be proven anew.
    back = client.put(SETTINGS, CONTACTS)
    assert back.body["verification"] == {"sms": "pending", "email": "verified"}
    assert list(stack.codes()) == [("sms", MOBILE)]


def test_deleting_a_pending_contact_discards_its_code(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, {"alert_mobile": "0151 23456789"})
    [code] = stack.codes().values()
    client.put(SETTINGS, {})
    assert not [item for item in stack.settings_items() if "code_hash" in item]
    client.put(SETTINGS, {"alert_mobile": "0151 23456789"})  # within the minute: a new code goes
    assert client.post(CONFIRM, {"channel": "sms", "code": code}).body["code"] == "wrong_code"


def test_a_new_code_on_request_but_not_twice_within_a_minute(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, {"alert_mobile": "0151 23456789"})
    stack.queued()

    too_soon = client.post(REQUEST, {"channel": "sms"})

    assert too_soon.status == 429 and too_soon.body["code"] == "too_many_codes"
    assert 0 < int(too_soon.headers["retry-after"]) <= 60
    assert stack.queued() == []


def test_only_a_pending_contact_can_ask_for_a_code(client: ApiClient, stack: Stack) -> None:
    assert client.post(REQUEST, {"channel": "email"}).status == 409
    client.save_confirmed(stack, "cal-a", {"alert_email": "praxis@example.com"})
    verified = client.post(REQUEST, {"channel": "email"})
    assert verified.status == 409 and verified.body["code"] == "nothing_to_verify"
    assert stack.queued() == []


def test_someone_who_only_sees_the_calendar_cannot_confirm(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, {"alert_mobile": "0151 23456789"})
    [code] = stack.codes().values()
    front_desk = client.issuer.issue_token([], view_calendars=["cal-a"])
    reply = client.post(CONFIRM, {"channel": "sms", "code": code}, token=front_desk)
    assert reply.status == 403
    assert client.get(SETTINGS).body["verification"] == {"sms": "pending"}


# ------------------------------------------------------------------------------------------------
# Time: the service with a clock of its own
# ------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 9, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def service_with(stack: Stack, clock: Clock, codes: list[str]) -> SettingsService:
    return SettingsService(
        stack.settings,
        stack.feed,
        NotificationQueue(stack.sqs, stack.queue_url),
        3,
        clock=clock,
        new_code=lambda: codes.pop(0),
    )


def mobile(value: str) -> AlertSettingsInput:
    return AlertSettingsInput(alert_mobile=value)


def test_a_code_expires_after_15_minutes(stack: Stack) -> None:
    clock = Clock()
    service = service_with(stack, clock, ["111111"])
    service.replace_settings("cal-a", mobile("0151 23456789"))

    clock.now += timedelta(minutes=15)

    with pytest.raises(ApiProblem) as expired:
        service.confirm_code("cal-a", "sms", "111111")
    assert (expired.value.status, expired.value.code) == (409, "code_expired")


def test_a_code_still_works_a_moment_before_it_expires(stack: Stack) -> None:
    clock = Clock()
    service = service_with(stack, clock, ["111111"])
    service.replace_settings("cal-a", mobile("0151 23456789"))
    clock.now += timedelta(minutes=14, seconds=59)
    assert service.confirm_code("cal-a", "sms", "111111").view.verification == {"sms": "verified"}


def test_a_new_code_after_a_minute_replaces_the_old_one(stack: Stack) -> None:
    clock = Clock()
    service = service_with(stack, clock, ["111111", "222222"])
    service.replace_settings("cal-a", mobile("0151 23456789"))
    clock.now += timedelta(seconds=60)

    sent = service.request_code("cal-a", "sms")

    assert sent.expires_at == "2027-09-01T10:16:00+00:00"
    assert sent.resend_after == "2027-09-01T10:02:00+00:00"
    with pytest.raises(ApiProblem) as replaced:
        service.confirm_code("cal-a", "sms", "111111")
    assert replaced.value.code == "wrong_code"
    assert service.confirm_code("cal-a", "sms", "222222").view.channels == ["sms", "in_app"]


def test_a_new_contact_within_the_minute_saves_but_says_no_code_went(stack: Stack) -> None:
    clock = Clock()
    service = service_with(stack, clock, ["111111", "222222"])
    service.replace_settings("cal-a", mobile("0151 23456789"))

    changed = service.replace_settings("cal-a", mobile("0151 98765432"))

    assert changed.view.alert_mobile == "+4915198765432"
    assert [(w.code, w.channel) for w in changed.view.warnings] == [
        ("contact_not_verified", "sms"),
        ("verification_not_sent", "sms"),
    ]


def test_parallel_guesses_cannot_share_an_attempt(stack: Stack) -> None:
    clock = Clock()
    service = service_with(stack, clock, ["111111"])
    service.replace_settings("cal-a", mobile("0151 23456789"))
    pending = stack.settings.get_code("cal-a", "sms")
    assert pending is not None
    # Six requests that all read the code with five attempts left: only five may compare.
    taken = [stack.settings.take_attempt("cal-a", "sms", pending) for _ in range(6)]
    assert taken == [True] * 5 + [False]


def test_an_operator_import_may_mark_contacts_verified(stack: Stack) -> None:
    imported = CalendarSettings(calendar_id="cal-a", alert_mobile=MOBILE).with_contacts_verified()
    stack.settings.put(imported)
    service = service_with(stack, Clock(), [])
    assert service.read_settings("cal-a").view.verification == {"sms": "verified"}
    plain = CalendarSettings(calendar_id="cal-b", alert_mobile=MOBILE)
    stack.settings.put(plain)
    assert service.read_settings("cal-b").view.verification == {"sms": "pending"}
