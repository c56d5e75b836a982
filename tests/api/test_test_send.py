"""POST /calendars/{calendar_id}/alert-settings/test: a test SMS and e-mail through the normal
pipeline (the FIFO notification queue), rate-limited per calendar and hour."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from practitioner_alerts.adapters.sqs import NotificationQueue
from practitioner_alerts.domain.notifications import Notification
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.settings_api import SettingsService
from practitioner_alerts.settings_api.service import ApiProblem
from tests.api.conftest import ApiClient, Stack

TEST = "/calendars/cal-a/alert-settings/test"
CONTACTS = {"alert_email": "praxis@example.com", "alert_mobile": "0151 23456789", "locale": "en"}


@pytest.fixture(autouse=True)
def _not_at_the_turn_of_the_hour() -> None:
    # The handler counts per clock hour; four calls straddling hh:00 would see two windows.
    now = datetime.now(UTC)
    if now.minute == 59 and now.second >= 50:
        time.sleep(61 - now.second)


def test_a_test_queues_one_sms_and_one_email_on_the_fifo_queue(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", CONTACTS)

    reply = client.post(TEST)

    assert reply.status == 202
    assert reply.body["channels"] == ["sms", "email"]
    messages = stack.queued()
    assert len(messages) == 2
    notifications = [Notification.model_validate_json(m["Body"]) for m in messages]
    assert {(n.channel, n.to) for n in notifications} == {
        ("sms", "+4915123456789"),
        ("email", "praxis@example.com"),
    }
    assert all(n.alert.kind == "test" and n.alert.calendar_id == "cal-a" for n in notifications)
    assert all(n.alert.locale == "en" for n in notifications)
    assert sorted(n.notification_id for n in notifications) == sorted(reply.body["notification_ids"])
    # FIFO attributes as the detector sets them: deduplicated by notification id.
    for message, notification in zip(messages, notifications, strict=True):
        assert message["Attributes"]["MessageDeduplicationId"] == notification.notification_id
        assert message["MessageAttributes"]["channel"]["StringValue"] == notification.channel


def test_every_test_request_gets_fresh_notification_ids(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", CONTACTS)
    first, second = client.post(TEST), client.post(TEST)
    ids = first.body["notification_ids"] + second.body["notification_ids"]
    assert len(set(ids)) == 4
    # Deduplication would have swallowed repeats; four distinct ids mean four messages.
    assert len(stack.queued()) == 4


def test_the_fourth_test_in_an_hour_is_refused_with_429(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", CONTACTS)
    statuses = [client.post(TEST).status for _ in range(3)]
    fourth = client.post(TEST)

    assert statuses == [202, 202, 202]
    assert fourth.status == 429
    assert fourth.body["code"] == "too_many_tests"
    assert 0 < int(fourth.headers["retry-after"]) <= 3600
    assert len(stack.queued()) == 6


def test_the_limit_is_per_calendar(issuer: object, stack: Stack) -> None:
    client = ApiClient(issuer, calendars=("cal-a", "cal-b"))  # type: ignore[arg-type]
    for calendar in ("cal-a", "cal-b"):
        client.save_confirmed(stack, calendar, CONTACTS)
    for _ in range(3):
        assert client.post(TEST).status == 202
    assert client.post(TEST).status == 429
    assert client.post("/calendars/cal-b/alert-settings/test").status == 202


def test_saving_settings_does_not_reset_the_limit(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", CONTACTS)
    for _ in range(3):
        client.post(TEST)
    client.put("/calendars/cal-a/alert-settings", {**CONTACTS, "locale": "de"})
    assert client.post(TEST).status == 429


def test_a_new_hour_starts_a_new_allowance(stack: Stack) -> None:
    stack.settings.put(
        CalendarSettings(calendar_id="cal-a", alert_email="praxis@example.com").with_contacts_verified()
    )
    now = [datetime(2027, 9, 1, 10, 59, tzinfo=UTC)]
    service = SettingsService(
        stack.settings, stack.feed, NotificationQueue(stack.sqs, stack.queue_url), 3, clock=lambda: now[0]
    )
    for _ in range(3):
        service.send_test("cal-a")
    with pytest.raises(ApiProblem) as refused:
        service.send_test("cal-a")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "60"
    now[0] += timedelta(minutes=1)
    assert service.send_test("cal-a").channels == ["email"]


def test_only_configured_channels_are_tested(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", {"alert_email": "praxis@example.com"})
    assert client.post(TEST).body["channels"] == ["email"]
    [message] = stack.queued()
    assert json.loads(message["Body"])["channel"] == "email"


def test_without_any_contact_there_is_nothing_to_test(client: ApiClient, stack: Stack) -> None:
    reply = client.post(TEST)
    assert reply.status == 409
    assert reply.body["code"] == "no_contact"
    assert "e-mail address or mobile number" in reply.body["message"]
    assert stack.queued() == []
    # A refused test does not use up the allowance.
    client.save_confirmed(stack, "cal-a", CONTACTS)
    assert [client.post(TEST).status for _ in range(3)] == [202, 202, 202]


def test_pending_contacts_get_no_test_only_their_code(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", {"alert_email": "praxis@example.com"})
    client.put("/calendars/cal-a/alert-settings", CONTACTS)  # the mobile number is new: pending
    [(channel, to)] = stack.codes()
    assert (channel, to) == ("sms", "+4915123456789")

    reply = client.post(TEST)
    assert reply.body["channels"] == ["email"]
    [message] = stack.queued()
    assert Notification.model_validate_json(message["Body"]).to == "praxis@example.com"


def test_with_only_pending_contacts_the_test_says_to_confirm_first(client: ApiClient, stack: Stack) -> None:
    client.put("/calendars/cal-a/alert-settings", CONTACTS)
    stack.queued()  # the codes
    reply = client.post(TEST)
    assert reply.status == 409 and reply.body["code"] == "no_contact"
    assert "code" in reply.body["message"]
    assert stack.queued() == []
