"""What the sender leaves behind for people other than the practitioner: the parked message an
operator redrives, the delivery failure the settings page shows, the feed's order, the early
delete, and the metrics the alarms and dashboards read. Mutants that `make mutate` found
surviving here each changed one of these without a test noticing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

import practitioner_alerts.sender as sender_module
from practitioner_alerts.domain.notifications import AlertContent, Notification, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings, contact_digest
from practitioner_alerts.errors import PermanentError, TransientError
from practitioner_alerts.sender import feed_alert_id
from tests.fakes import FakeDeliveryLog, FakeEmail, FakeInFlight, FakePush, InMemoryIdempotency, fake_sender

WEBER = CalendarSettings(
    calendar_id="cal-dr-weber", alert_email="praxis.weber@example.com", alert_mobile="+4915123456789"
).with_contacts_verified()
SMS_ONLY = WEBER.model_copy(update={"alert_email": None, "verified_email": None})
EMAIL_ONLY = WEBER.model_copy(update={"alert_mobile": None, "verified_mobile": None})
FEED_ONLY = WEBER.model_copy(update={"alert_email": None, "alert_mobile": None})


def booking(appointment_id: str = "apt-1", changed_at: datetime | None = None) -> AlertContent:
    return AlertContent(
        kind="booked",
        calendar_id="cal-dr-weber",
        appointment_id=appointment_id,
        starts_at=datetime(2027, 9, 9, 10, tzinfo=UTC),
        changed_at=changed_at or datetime(2027, 9, 1, 16, tzinfo=UTC),
        time_zone="Europe/Berlin",
        locale="de",
    )


def queue_event(notifications: list[Notification], *, group: str | None = "apt-1#sms") -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": "1"}
    if group:
        attributes["MessageGroupId"] = group
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": n.model_dump_json(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for index, n in enumerate(notifications)
        ]
    }


def metrics_emitted() -> dict[str, Any]:
    """The sender's metrics as EMF would flush them: name -> (their sum, unit)."""
    metrics = sender_module.metrics
    flushed = metrics.serialize_metric_set() if metrics.metric_set else {"_aws": {"CloudWatchMetrics": [{}]}}
    metrics.clear_metrics()
    definitions = flushed["_aws"]["CloudWatchMetrics"][0].get("Metrics", [])
    values = {d["Name"]: flushed[d["Name"]] for d in definitions}
    return {
        d["Name"]: (sum(v) if isinstance(v := values[d["Name"]], list) else v, d["Unit"]) for d in definitions
    }


def test_a_parked_notification_names_the_sender_and_keeps_its_group_for_the_redrive() -> None:
    metrics_emitted()
    sender = fake_sender(delivery_log=FakeDeliveryLog(cap_reached=True))
    event = queue_event(notifications_for(booking(), SMS_ONLY, in_app=False))

    sender.handle(event, None)

    (parked,) = sender.parking.parked  # type: ignore[attr-defined]
    assert parked["source"] == "sender"
    assert parked["group"] == "apt-1#sms"
    assert parked["payload"] == event["Records"][0]
    assert parked["reason"].startswith("sms_cap_reached")
    assert metrics_emitted()["NotificationsParked"] == (1.0, "Count")


def test_a_parked_message_without_a_group_goes_to_the_parked_group() -> None:
    sender = fake_sender(delivery_log=FakeDeliveryLog(cap_reached=True))
    sender.handle(queue_event(notifications_for(booking(), SMS_ONLY, in_app=False), group=None), None)
    (parked,) = sender.parking.parked  # type: ignore[attr-defined]
    assert parked["group"] == "parked"


def test_a_rejected_address_is_remembered_for_its_channel_with_a_digest_of_it() -> None:
    now = datetime(2027, 9, 1, 16, 5, tzinfo=UTC)
    sender = fake_sender(
        email=FakeEmail(failures=[PermanentError("sesv2.SendEmail: MessageRejected")]), clock=lambda: now
    )
    sender.handle(queue_event(notifications_for(booking(), EMAIL_ONLY, in_app=False)), None)

    failure = sender.delivery_log.failures[("cal-dr-weber", "email")]  # type: ignore[attr-defined]
    assert failure.channel == "email"
    assert failure.reason == "sesv2.SendEmail: MessageRejected"
    assert failure.failed_at == now.isoformat()
    assert failure.contact == contact_digest("praxis.weber@example.com")


def test_feed_alert_ids_sort_newest_first_and_differ_per_notification() -> None:
    earlier = notifications_for(booking("apt-1", datetime(2027, 9, 1, 16, tzinfo=UTC)), WEBER, in_app=True)[
        -1
    ]
    later = notifications_for(
        booking("apt-2", datetime(2027, 9, 1, 18, 30, 5, tzinfo=UTC)), WEBER, in_app=True
    )[-1]
    assert feed_alert_id(earlier) == f"20270901T160000Z-{earlier.notification_id[:12]}"
    assert feed_alert_id(later) == f"20270901T183005Z-{later.notification_id[:12]}"
    assert sorted([feed_alert_id(earlier), feed_alert_id(later)], reverse=True)[0] == feed_alert_id(later)


class _NoCompletion(InMemoryIdempotency):
    def _update_record(self, data_record: DataRecord) -> None:
        raise TransientError("dynamodb.UpdateItem: ThrottlingException")


def test_a_message_sent_but_not_recorded_is_deleted_at_once_by_its_receipt_handle() -> None:
    in_flight = FakeInFlight()
    sender = fake_sender(idempotency_store=_NoCompletion(), in_flight=in_flight)
    response = sender.handle(queue_event(notifications_for(booking(), SMS_ONLY, in_app=False)), None)
    assert response == {"batchItemFailures": []}
    assert in_flight.settled == ["r-0"]


def test_pushes_and_failed_pushes_are_counted_for_the_dashboard() -> None:
    metrics_emitted()
    (in_app,) = notifications_for(booking(), FEED_ONLY, in_app=True)
    fake_sender().handle(queue_event([in_app]), None)
    assert metrics_emitted()["Pushed"] == (1.0, "Count")
    failing = fake_sender(push=FakePush(failure=TransientError("appsync: 503")))
    failing.handle(queue_event([in_app]), None)
    emitted = metrics_emitted()
    assert emitted["PushFailed"] == (1.0, "Count") and "Pushed" not in emitted
    assert len(failing.feed.entries) == 1  # type: ignore[attr-defined]


def test_the_pushed_event_is_the_feed_entry_as_the_feed_api_shows_it() -> None:
    push = FakePush()
    (in_app,) = notifications_for(booking(), FEED_ONLY, in_app=True)
    sender = fake_sender(push=push)
    sender.handle(queue_event([in_app]), None)
    (entry,) = sender.feed.entries.values()  # type: ignore[attr-defined]
    ((channel, events),) = push.published
    assert channel.startswith("/alerts/")
    assert [json.loads(event) for event in events] == [entry.as_alert()]


@pytest.mark.usefixtures("machine_in_new_york")
def test_a_feed_alert_id_is_the_same_on_a_machine_in_another_time_zone() -> None:
    # The local runtime runs on developers' laptops; the ids must sort the same as in Lambda (UTC).
    (in_app,) = notifications_for(booking(), FEED_ONLY, in_app=True)
    assert feed_alert_id(in_app) == f"20270901T160000Z-{in_app.notification_id[:12]}"


@dataclass
class _CountingLog(FakeDeliveryLog):
    """Also records how long each hour's count is to be kept."""

    kept_until: list[tuple[str, int]] = field(default_factory=list)

    def spend_sms(self, calendar_id: str, hour: str, cap: int, expires_at: int, segments: int = 1) -> bool:
        self.kept_until.append((hour, expires_at))
        return super().spend_sms(calendar_id, hour, cap, expires_at, segments)


def test_an_hours_sms_count_is_kept_until_an_hour_after_that_hour_ends() -> None:
    # Kept any shorter, DynamoDB's TTL could delete a count still in use and let the hour's cap restart.
    log = _CountingLog()
    sender = fake_sender(delivery_log=log, clock=lambda: datetime(2027, 9, 1, 10, 25, 13, tzinfo=UTC))
    sender.handle(queue_event(notifications_for(booking(), SMS_ONLY, in_app=False)), None)
    assert log.kept_until == [("2027-09-01T10", int(datetime(2027, 9, 1, 12, tzinfo=UTC).timestamp()))]


def test_a_feed_entry_lives_the_feed_days_after_its_change_and_a_reschedule_shows_the_old_start() -> None:
    moved = booking().model_copy(
        update={"kind": "rescheduled", "previous_starts_at": datetime(2027, 9, 8, 9, tzinfo=UTC)}
    )
    (in_app,) = notifications_for(moved, FEED_ONLY, in_app=True)
    sender = fake_sender(feed_days=30)
    sender.handle(queue_event([in_app]), None)
    (entry,) = sender.feed.entries.values()  # type: ignore[attr-defined]
    assert entry.expires_at == int(datetime(2027, 10, 1, 16, tzinfo=UTC).timestamp())
    assert entry.previous_starts_at == "2027-09-08T09:00:00+00:00"
    assert entry.as_alert()["previous_starts_at"] == "2027-09-08T09:00:00+00:00"


def test_an_sms_to_a_number_of_no_country_is_parked_saying_so_and_never_sent() -> None:
    # A satellite number written into the settings table around the API.
    (sms,) = notifications_for(booking(), SMS_ONLY, in_app=False)
    sender = fake_sender()
    sender.handle(queue_event([sms.model_copy(update={"to": "+881631234567"})]), None)
    assert sender.sms.outbox == []  # type: ignore[attr-defined]
    (parked,) = sender.parking.parked  # type: ignore[attr-defined]
    assert parked["reason"] == (
        "sms_country_not_allowed: a number of no country, which SmsAllowedCountries does not list"
    )
