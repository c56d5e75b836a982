"""What the sender leaves behind for people other than the practitioner: the parked message an
operator redrives, the delivery failure the settings page shows, the feed's order, the early
delete, and the metrics the alarms and dashboards read. Mutants that `make mutate` found
surviving here each changed one of these without a test noticing."""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

import practitioner_alerts.sender as sender_module
from practitioner_alerts.adapters.dynamodb import DeliveryFailure
from practitioner_alerts.delivery_events import FAILURE_MEMORY, DeliveryReceipts
from practitioner_alerts.domain.notifications import AlertContent, Notification, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings, contact_digest
from practitioner_alerts.errors import OperatorError, PermanentError, TransientError
from practitioner_alerts.rendering import count_segments, render_sms
from practitioner_alerts.sender import feed_alert_id
from tests.conftest import load_event
from tests.fakes import (
    FakeDeliveryLog,
    FakeEmail,
    FakeInFlight,
    FakePush,
    FakeSms,
    InMemoryIdempotency,
    fake_sender,
)

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


@dataclass
class _FailureLog(FakeDeliveryLog):
    """Also records until when each delivery failure is to be kept."""

    kept_until: list[int] = field(default_factory=list)

    def record_failure(self, calendar_id: str, failure: DeliveryFailure, expires_at: int) -> None:
        self.kept_until.append(expires_at)
        super().record_failure(calendar_id, failure, expires_at)


def test_a_delivery_failure_is_shown_for_the_failure_memory_after_it_happened() -> None:
    # The settings page shows it for that long, as it does a bounce the delivery events report.
    now = datetime(2027, 9, 1, 16, 5, tzinfo=UTC)
    log = _FailureLog()
    sender = fake_sender(
        email=FakeEmail(failures=[PermanentError("sesv2.SendEmail: MessageRejected")]),
        delivery_log=log,
        clock=lambda: now,
    )
    sender.handle(queue_event(notifications_for(booking(), EMAIL_ONLY, in_app=False)), None)
    assert log.kept_until == [int((now + FAILURE_MEMORY).timestamp())]


def two_appointments_by_sms() -> dict[str, Any]:
    """Two SMS of two appointments, each in its own group, so neither waits for the other."""
    event = queue_event(
        [notifications_for(booking(a), SMS_ONLY, in_app=False)[0] for a in ("apt-1", "apt-2")]
    )
    for record, group in zip(event["Records"], ("apt-1#sms", "apt-2#sms"), strict=True):
        record["attributes"] = {**record["attributes"], "MessageGroupId": group}
    return event


@dataclass
class _NoDelete(FakeInFlight):
    def settle(self, receipt_handle: str) -> None:
        raise TransientError("sqs.DeleteMessage: ThrottlingException")


def test_once_a_message_is_sent_unrecorded_and_undeleted_the_rest_of_the_batch_goes_back_untouched() -> None:
    # A crash before Lambda deletes the first would send it again; the second must not be sent too.
    in_flight = _NoDelete()
    sender = fake_sender(idempotency_store=_NoCompletion(), in_flight=in_flight)
    response = sender.handle(two_appointments_by_sms(), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert [to for to, _ in sender.sms.outbox] == ["+4915123456789"]  # type: ignore[attr-defined]
    assert in_flight.postponed == []


def test_a_message_sent_unrecorded_but_deleted_lets_the_rest_of_the_batch_go_out() -> None:
    in_flight = FakeInFlight()
    sender = fake_sender(idempotency_store=_NoCompletion(), in_flight=in_flight)
    assert sender.handle(two_appointments_by_sms(), None) == {"batchItemFailures": []}
    assert len(sender.sms.outbox) == 2  # type: ignore[attr-defined]
    assert in_flight.settled == ["r-0", "r-1"]


def test_without_early_deletes_a_message_sent_unrecorded_does_not_end_the_batch() -> None:
    # A sender built without an in-flight handle can delete nothing early, so it waits for nothing.
    sender = fake_sender(idempotency_store=_NoCompletion(), in_flight=None)
    assert sender.handle(two_appointments_by_sms(), None) == {"batchItemFailures": []}
    assert len(sender.sms.outbox) == 2  # type: ignore[attr-defined]


def test_a_push_that_raises_something_unexpected_is_logged_with_its_type_as_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (in_app,) = notifications_for(booking(), FEED_ONLY, in_app=True)
    sender = fake_sender(push=FakePush(failure=ConnectionResetError("peer went away")))
    with caplog.at_level(logging.WARNING):
        sender.handle(queue_event([in_app]), None)
    (line,) = [r for r in caplog.records if r.getMessage().startswith("push failed")]
    assert line.reason == "ConnectionResetError"  # type: ignore[attr-defined]


@pytest.mark.usefixtures("machine_in_new_york")
def test_a_failure_is_stamped_in_utc_by_the_sender_s_own_clock_on_any_machine() -> None:
    # The settings page reads failed_at as an instant; a local time without an offset is none.
    sender = fake_sender(email=FakeEmail(failures=[PermanentError("sesv2.SendEmail: MessageRejected")]))
    sender.handle(queue_event(notifications_for(booking(), EMAIL_ONLY, in_app=False)), None)
    failure = sender.delivery_log.failures[("cal-dr-weber", "email")]  # type: ignore[attr-defined]
    assert datetime.fromisoformat(failure.failed_at).utcoffset() == timedelta(0)


@dataclass
class _SettingsNow:
    """The calendars' settings as the sender reads them before each SMS and e-mail."""

    calendars: dict[str, CalendarSettings] = field(default_factory=dict)

    def get(self, calendar_id: str) -> CalendarSettings | None:
        return self.calendars.get(calendar_id)


def test_a_calendar_deleted_since_its_alert_was_queued_gets_it_only_in_its_feed() -> None:
    metrics_emitted()
    sender = fake_sender(settings=_SettingsNow())
    response = sender.handle(queue_event(notifications_for(booking(), WEBER, in_app=True)), None)
    assert response == {"batchItemFailures": []}
    assert sender.sms.outbox == [] and sender.email.outbox == []  # type: ignore[attr-defined]
    assert len(sender.feed.entries) == 1 and sender.parking.parked == []  # type: ignore[attr-defined]
    assert metrics_emitted()["NotSentContactChanged"] == (2.0, "Count")


def _code_to(channel: str, contact: str) -> Notification:
    code = booking().model_copy(update={"kind": "verification", "verification_code": "123456"})
    (notification,) = [n for n in notifications_for(code, WEBER, in_app=False) if n.channel == channel]
    return notification.model_copy(update={"to": contact})


def test_a_code_goes_to_a_pending_contact_though_the_calendar_s_other_contact_is_proven() -> None:
    mobile_pending = WEBER.model_copy(update={"verified_mobile": None})
    sender = fake_sender(settings=_SettingsNow({"cal-dr-weber": mobile_pending}))
    sender.handle(queue_event([_code_to("sms", "+4915123456789")]), None)
    assert [to for to, _ in sender.sms.outbox] == ["+4915123456789"]  # type: ignore[attr-defined]
    email_pending = WEBER.model_copy(update={"verified_email": None})
    sender = fake_sender(settings=_SettingsNow({"cal-dr-weber": email_pending}))
    sender.handle(queue_event([_code_to("email", "praxis.weber@example.com")], group="apt-1#email"), None)
    assert [to for to, _ in sender.email.outbox] == ["praxis.weber@example.com"]  # type: ignore[attr-defined]


def test_an_sms_message_without_a_number_is_parked_saying_so_when_the_settings_are_checked_too() -> None:
    (sms,) = notifications_for(booking(), SMS_ONLY, in_app=False)
    sender = fake_sender(settings=_SettingsNow({"cal-dr-weber": SMS_ONLY}))
    sender.handle(queue_event([sms.model_copy(update={"to": None})]), None)
    assert sender.sms.outbox == []  # type: ignore[attr-defined]
    (parked,) = sender.parking.parked  # type: ignore[attr-defined]
    assert parked["reason"] == "to: missing for channel sms"
    # Not the practitioner's to fix: their settings page shows no failure for it.
    assert sender.delivery_log.failures == {}  # type: ignore[attr-defined]


def test_each_delivery_is_counted_once_per_channel_for_the_dashboard() -> None:
    metrics_emitted()
    sender = fake_sender()
    sender.handle(queue_event(notifications_for(booking(), WEBER, in_app=True)), None)
    emitted = metrics_emitted()
    assert {name: emitted[name] for name in emitted if name.startswith("Delivered_")} == {
        "Delivered_sms": (1.0, "Count"),
        "Delivered_email": (1.0, "Count"),
        "Delivered_in_app": (1.0, "Count"),
    }


def test_a_bounce_of_an_alert_e_mail_finds_its_calendar_and_notification_through_the_tags() -> None:
    (email,) = notifications_for(booking(), EMAIL_ONLY, in_app=False)
    channel = FakeEmail()
    fake_sender(email=channel).handle(queue_event([email], group="apt-1#email"), None)
    (tags,) = channel.tags
    assert tags == {"calendar_id": "cal-dr-weber", "notification_id": email.notification_id}
    # SES hands the tags back in its bounce event, each as a list; the calendar's log gets the bounce.
    bounce = load_event("ses-bounce.json")
    message = json.loads(bounce["Records"][0]["Sns"]["Message"])
    message["mail"]["tags"] = {name: [value] for name, value in tags.items()}
    bounce["Records"][0]["Sns"]["Message"] = json.dumps(message)
    log = FakeDeliveryLog()
    DeliveryReceipts(log).handle(bounce)
    assert log.last_failures("cal-dr-weber")["email"].reason == "bounce: Permanent/General"


def test_the_idempotency_record_says_what_became_of_each_message() -> None:
    # What an operator reads there: the SNS message id it went out as, or why it did not go.
    (sms,) = notifications_for(booking(), SMS_ONLY, in_app=False)
    store = InMemoryIdempotency()
    fake_sender(idempotency_store=store).handle(queue_event([sms]), None)
    moved = SMS_ONLY.model_copy(update={"alert_mobile": "+4915199999999", "verified_mobile": None})
    (later,) = notifications_for(booking("apt-2"), SMS_ONLY, in_app=False)
    fake_sender(idempotency_store=store, settings=_SettingsNow({"cal-dr-weber": moved})).handle(
        queue_event([later], group="apt-2#sms"), None
    )
    results = [json.loads(record.response_data) for record in store.records.values()]
    assert results == [{"message_id": "sms-1"}, {"message_id": "not-sent:contact-changed"}]


def test_without_an_in_flight_handle_a_throttled_sms_simply_comes_again() -> None:
    # Nothing to postpone it with: the visibility timeout brings it back, and the batch reports it.
    sender = fake_sender(sms=FakeSms(failures=[TransientError("sns.Publish: Throttling")]), in_flight=None)
    response = sender.handle(queue_event(notifications_for(booking(), SMS_ONLY, in_app=False)), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert sender.parking.parked == []  # type: ignore[attr-defined]


class _RecordsKept(InMemoryIdempotency):
    """Also keeps each record as it was first written, in progress."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[DataRecord] = []

    def _put_record(self, data_record: DataRecord) -> None:
        self.started.append(copy.copy(data_record))
        super()._put_record(data_record)


@dataclass
class _Context:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_a_delivery_cut_off_with_its_invocation_may_be_retried_once_that_invocation_s_time_is_up() -> None:
    # Otherwise its record would stay "in progress" for the seven days, and the retry never send.
    store = _RecordsKept()
    sender = fake_sender(idempotency_store=store)
    before_ms = int(time.time() * 1000)
    sender.handle(queue_event(notifications_for(booking(), SMS_ONLY, in_app=False)), _Context(30_000))  # type: ignore[arg-type]
    after_ms = int(time.time() * 1000)
    (started,) = store.started
    assert started.in_progress_expiry_timestamp is not None
    assert before_ms + 30_000 <= started.in_progress_expiry_timestamp <= after_ms + 30_000


def test_a_messages_idempotency_record_outlives_a_redrive_days_later() -> None:
    # A redrive from the dead-letter queue may come days later; the queue keeps messages four days.
    store = _RecordsKept()
    before = int(time.time())
    fake_sender(idempotency_store=store).handle(
        queue_event(notifications_for(booking(), SMS_ONLY, in_app=False)), None
    )
    after = int(time.time())
    (started,) = store.started
    week = 7 * 24 * 3600
    assert before + week <= started.expiry_timestamp <= after + week


def test_each_calendar_spends_its_own_hourly_share_of_sms() -> None:
    elsewhere = booking("apt-2").model_copy(update={"calendar_id": "cal-dr-roth"})
    one_sms = count_segments(render_sms(booking())).segments
    assert count_segments(render_sms(elsewhere)).segments == one_sms
    sms = [notifications_for(alert, SMS_ONLY, in_app=False)[0] for alert in (booking(), elsewhere)]
    event = queue_event(sms)
    event["Records"][1]["attributes"] = {**event["Records"][1]["attributes"], "MessageGroupId": "apt-2#sms"}
    sender = fake_sender(sms_per_calendar_per_hour=one_sms)
    assert sender.handle(event, None) == {"batchItemFailures": []}
    assert len(sender.sms.outbox) == 2 and sender.parking.parked == []  # type: ignore[attr-defined]


def test_an_sms_over_the_cap_is_counted_and_its_record_says_the_e_mail_carried_it() -> None:
    metrics_emitted()
    store = InMemoryIdempotency()
    sender = fake_sender(delivery_log=FakeDeliveryLog(cap_reached=True), idempotency_store=store)
    sender.handle(queue_event(notifications_for(booking(), WEBER, in_app=False)), None)
    assert metrics_emitted()["SmsOverCap"] == (1.0, "Count")
    results = [json.loads(record.response_data) for record in store.records.values()]
    assert {"message_id": "over-cap:covered-by-email"} in results


def test_an_sms_over_the_cap_without_e_mail_is_parked_telling_the_operator_when_to_redrive() -> None:
    sender = fake_sender(delivery_log=FakeDeliveryLog(cap_reached=True), sms_per_calendar_per_hour=12)
    sender.handle(queue_event(notifications_for(booking(), SMS_ONLY, in_app=False)), None)
    (parked,) = sender.parking.parked  # type: ignore[attr-defined]
    assert parked["reason"] == (
        "sms_cap_reached: 12 SMS segments this hour for this calendar and no e-mail to fall back to; "
        "redrive after the hour"
    )


@dataclass
class _ReceiptLog(FakeDeliveryLog):
    """Also records until when each SMS's receipt mapping is to be kept."""

    receipts_kept_until: list[int] = field(default_factory=list)

    def remember_sms(self, message_id: str, calendar_id: str, expires_at: int) -> None:
        self.receipts_kept_until.append(expires_at)
        super().remember_sms(message_id, calendar_id, expires_at)


def test_an_sms_is_matched_to_its_calendar_for_three_days_of_delivery_receipts() -> None:
    now = datetime(2027, 9, 1, 16, 5, 30, tzinfo=UTC)
    log = _ReceiptLog()
    sender = fake_sender(delivery_log=log, clock=lambda: now)
    sender.handle(queue_event(notifications_for(booking(), SMS_ONLY, in_app=False)), None)
    assert log.receipts_kept_until == [int(datetime(2027, 9, 4, 16, 5, 30, tzinfo=UTC).timestamp())]


def test_an_operators_mistake_is_counted_for_the_configuration_alarm() -> None:
    metrics_emitted()
    sender = fake_sender(email=FakeEmail(failures=[OperatorError("sesv2.SendEmail: NotFoundException")]))
    sender.handle(
        queue_event(notifications_for(booking(), EMAIL_ONLY, in_app=False), group="apt-1#email"), None
    )
    assert metrics_emitted()["ConfigurationErrors"] == (1.0, "Count")


class _Killed(BaseException):
    """Lambda ending the invocation mid-delivery: nothing of ours runs after it."""


@dataclass
class _KilledOnce(FakeSms):
    killed: bool = False

    def send(self, to: str, text: str) -> str:
        if not self.killed:
            self.killed = True
            raise _Killed
        return super().send(to, text)


def test_a_message_whose_delivery_is_still_in_progress_is_given_up_on_its_last_receive_saying_so() -> None:
    # Its first invocation died with the record "in progress"; SNS took nothing.
    sender = fake_sender(sms=_KilledOnce(), max_receives=1)
    event = queue_event(notifications_for(booking(), SMS_ONLY, in_app=False))
    with pytest.raises(_Killed):
        sender.handle(event, None)
    sender.handle(event, None)
    assert sender.sms.outbox == []  # type: ignore[attr-defined]
    (parked,) = sender.parking.parked  # type: ignore[attr-defined]
    assert parked["reason"] == "the same notification is being delivered right now (gave up after 1 attempts)"


class _StoreDown(InMemoryIdempotency):
    def _put_record(self, data_record: DataRecord) -> None:
        raise TransientError("dynamodb.PutItem: ThrottlingException")


def test_a_message_the_idempotency_store_never_took_is_given_up_at_last_saying_nothing_went() -> None:
    sender = fake_sender(idempotency_store=_StoreDown(), max_receives=1)
    sender.handle(queue_event(notifications_for(booking(), SMS_ONLY, in_app=False)), None)
    assert sender.sms.outbox == []  # type: ignore[attr-defined]
    (parked,) = sender.parking.parked  # type: ignore[attr-defined]
    assert parked["reason"] == "idempotency store unavailable; nothing was sent (gave up after 1 attempts)"
