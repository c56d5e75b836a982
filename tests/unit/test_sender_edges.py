"""The sender's edges a user or operator would notice, each found by `make mutate` surviving in
the sender: the reason a message is parked with at its last receive, the metrics the alarms
read, the e-mail tags bounces come back by, per-calendar counters, expiries, the time budget's
boundary and the digest's hold at its window's end."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from practitioner_alerts.adapters.dynamodb import DeliveryFailure
from practitioner_alerts.delivery_events import FAILURE_MEMORY
from practitioner_alerts.domain.digest import DIGEST_MEMORY, DIGEST_WINDOW, DigestLine
from practitioner_alerts.domain.notifications import AlertContent, Notification, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import OperatorError, PermanentError, TransientError
from practitioner_alerts.sender import AWS_CALLS_PER_MESSAGE, IDEMPOTENCY_TTL, AlertSender
from practitioner_alerts_local.functions import FakeLambdaContext
from tests.fakes import (
    FakeDeliveryLog,
    FakeEmail,
    FakeFeed,
    FakeInFlight,
    FakeParkingLot,
    FakePush,
    FakeQueue,
    FakeSettings,
    FakeSms,
    InMemoryIdempotency,
    fake_sender,
)
from tests.unit.test_sender_bookkeeping import SMS_ONLY, WEBER, metrics_emitted

NOW = datetime(2027, 9, 8, 12, 1, tzinfo=UTC)


def alert(
    appointment_id: str = "apt-1", *, calendar_id: str = "cal-dr-weber", kind: str = "booked"
) -> AlertContent:
    return AlertContent(
        kind=kind,  # type: ignore[arg-type]
        calendar_id=calendar_id,
        appointment_id=appointment_id,
        starts_at=datetime(2027, 9, 9, 10, tzinfo=UTC),
        changed_at=NOW,
        time_zone="Europe/Berlin",
        locale="de",
        verification_code="123456" if kind == "verification" else None,
    )


def one(
    channel: str, settings: CalendarSettings = WEBER, content: AlertContent | None = None
) -> Notification:
    return next(
        n for n in notifications_for(content or alert(), settings, in_app=True) if n.channel == channel
    )


def event(*notifications: Notification, receives: int | None = 1) -> dict[str, Any]:
    attributes = {"MessageGroupId": "g"}
    if receives is not None:
        attributes["ApproximateReceiveCount"] = str(receives)
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": n.model_dump_json(),
                "attributes": {**attributes, "MessageGroupId": f"g-{index}"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for index, n in enumerate(notifications)
        ]
    }


def parked(sender: AlertSender) -> list[str]:
    assert isinstance(sender.parking, FakeParkingLot)
    return [p["reason"] for p in sender.parking.parked]


class _StoreDown(InMemoryIdempotency):
    def _put_record(self, data_record: DataRecord) -> None:
        raise TransientError("dynamodb.PutItem: ServiceUnavailable")


# ------------------------------------------------------------------------------------------------
# The last receive: parked with the reason, never silently moved by SQS
# ------------------------------------------------------------------------------------------------
def test_at_its_last_receive_a_failing_message_is_parked_saying_why_and_after_how_many_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = fake_sender(idempotency_store=_StoreDown(), max_receives=10)
    with caplog.at_level(logging.WARNING):
        response = sender.handle(event(one("sms"), receives=10), None)
    assert response["batchItemFailures"] == []
    assert parked(sender) == ["idempotency store unavailable; nothing was sent (gave up after 10 attempts)"]
    (line,) = [r for r in caplog.records if r.getMessage() == "notification parked"]
    assert line.channel == "sms"  # type: ignore[attr-defined]


def test_before_its_last_receive_a_failing_message_comes_back_and_is_not_parked() -> None:
    sender = fake_sender(idempotency_store=_StoreDown(), max_receives=10)
    response = sender.handle(event(one("sms"), receives=9), None)
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-0"}]
    assert parked(sender) == []


class _InProgressElsewhere(InMemoryIdempotency):
    def _put_record(self, data_record: DataRecord) -> None:
        in_progress = DataRecord(
            idempotency_key=data_record.idempotency_key,
            status="INPROGRESS",
            expiry_timestamp=int(time.time()) + 3600,
            in_progress_expiry_timestamp=int(time.time() * 1000) + 60_000,
        )
        raise IdempotencyItemAlreadyExistsError(old_data_record=in_progress)


def test_a_delivery_in_progress_elsewhere_at_the_last_receive_is_parked_saying_so() -> None:
    sender = fake_sender(idempotency_store=_InProgressElsewhere(), max_receives=10)
    sender.handle(event(one("email"), receives=10), None)
    assert parked(sender) == [
        "the same notification is being delivered right now (gave up after 10 attempts)"
    ]


def test_a_message_handed_back_for_lack_of_time_is_never_parked_even_at_its_last_receive() -> None:
    context = FakeLambdaContext(function_name="sender", invoked_function_arn="arn", timeout_seconds=1)
    sender = fake_sender(max_receives=10, longest_call_seconds=7)
    assert sender.handle(event(one("sms"), receives=10), context)["batchItemFailures"]  # type: ignore[arg-type]
    assert parked(sender) == []


def test_a_permanent_failure_is_parked_naming_its_channel(caplog: pytest.LogCaptureFixture) -> None:
    sender = fake_sender(email=FakeEmail(failures=[PermanentError("sesv2.SendEmail: MessageRejected")]))
    with caplog.at_level(logging.WARNING):
        sender.handle(event(one("email")), None)
    (line,) = [r for r in caplog.records if r.getMessage() == "notification parked"]
    assert line.channel == "email"  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------
# The time budget's boundary
# ------------------------------------------------------------------------------------------------
@dataclass
class _Remaining:
    milliseconds: int
    function_name: str = "sender"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn"
    aws_request_id: str = "req"

    def get_remaining_time_in_millis(self) -> int:
        return self.milliseconds


def test_a_message_starts_with_exactly_its_calls_time_left_and_not_a_millisecond_less() -> None:
    needed = (AWS_CALLS_PER_MESSAGE + 1) * 7 * 1000
    sender = fake_sender(longest_call_seconds=7)
    assert sender.handle(event(one("sms")), _Remaining(needed))["batchItemFailures"] == []  # type: ignore[arg-type]
    sender = fake_sender(longest_call_seconds=7)
    assert sender.handle(event(one("sms")), _Remaining(needed - 1))["batchItemFailures"]  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# Idempotency records: kept seven days, and an invocation's in-progress mark ends with it
# ------------------------------------------------------------------------------------------------
class _Recorded(InMemoryIdempotency):
    def __init__(self) -> None:
        super().__init__()
        self.started: list[DataRecord] = []

    def _put_record(self, data_record: DataRecord) -> None:
        self.started.append(data_record)
        super()._put_record(data_record)


def test_an_sms_is_remembered_seven_days_and_marked_in_progress_only_for_its_invocation() -> None:
    store = _Recorded()
    context = _Remaining(40_000)
    before = time.time()
    fake_sender(idempotency_store=store).handle(event(one("sms")), context)  # type: ignore[arg-type]
    (record,) = store.records.values()
    assert record.expiry_timestamp == pytest.approx(before + IDEMPOTENCY_TTL.total_seconds(), abs=5)
    (started,) = store.started
    assert started.in_progress_expiry_timestamp == pytest.approx((before + 40) * 1000, abs=5000)


# ------------------------------------------------------------------------------------------------
# What reaches the providers and the delivery log
# ------------------------------------------------------------------------------------------------
def test_an_email_carries_its_calendar_and_notification_as_tags_for_the_bounce_to_find_its_way_back() -> None:
    email = FakeEmail()
    notification = one("email")
    fake_sender(email=email).handle(event(notification), None)
    assert email.tags == [{"calendar_id": "cal-dr-weber", "notification_id": notification.notification_id}]


@dataclass
class _Expiring(FakeDeliveryLog):
    expiries: dict[str, int] = field(default_factory=dict)

    def remember_sms(self, message_id: str, calendar_id: str, expires_at: int) -> None:
        self.expiries["sms receipt"] = expires_at
        super().remember_sms(message_id, calendar_id, expires_at)

    def record_failure(self, calendar_id: str, failure: DeliveryFailure, expires_at: int) -> None:
        self.expiries["failure"] = expires_at
        super().record_failure(calendar_id, failure, expires_at)

    def count_sms_alert(self, calendar_id: str, window_key: str, expires_at: int) -> int | None:
        self.expiries["digest count"] = expires_at
        return super().count_sms_alert(calendar_id, window_key, expires_at)

    def join_digest(self, calendar_id: str, window_key: str, line: DigestLine, expires_at: int) -> bool:
        self.expiries["digest line"] = expires_at
        return super().join_digest(calendar_id, window_key, line, expires_at)


def test_the_sms_receipt_mapping_is_kept_three_days_and_a_failure_as_long_as_the_settings_show_it() -> None:
    log = _Expiring()
    email = FakeEmail(failures=[PermanentError("sesv2.SendEmail: MessageRejected")])
    sender = fake_sender(delivery_log=log, email=email, clock=lambda: NOW)
    sender.handle(event(one("sms"), one("email")), None)
    assert log.expiries["sms receipt"] == int((NOW + timedelta(days=3)).timestamp())
    assert log.expiries["failure"] == int((NOW + FAILURE_MEMORY).timestamp())


def test_each_calendar_has_its_own_sms_cap() -> None:
    roth = SMS_ONLY.model_copy(update={"calendar_id": "cal-dr-roth"})
    sender = fake_sender(sms_per_calendar_per_hour=1)
    first, second = one("sms", SMS_ONLY), one("sms", SMS_ONLY, alert("apt-2"))
    other = one("sms", roth, alert("apt-3", calendar_id="cal-dr-roth"))
    sender.handle(event(first, second, other), None)
    assert isinstance(sender.sms, FakeSms)
    assert len(sender.sms.outbox) == 2  # Weber's first and Roth's
    assert parked(sender) == [
        "sms_cap_reached: 1 SMS segments this hour for this calendar and no e-mail to fall back to; "
        "redrive after the hour"
    ]


# ------------------------------------------------------------------------------------------------
# The metrics the dashboard and the alarms read
# ------------------------------------------------------------------------------------------------
def test_a_deployment_that_refuses_a_delivery_is_counted_once_as_a_configuration_error() -> None:
    metrics_emitted()
    sender = fake_sender(email=FakeEmail(failures=[OperatorError("sesv2.SendEmail: NotFoundException")]))
    sender.handle(event(one("email")), None)
    assert metrics_emitted()["ConfigurationErrors"] == (1.0, "Count")


def test_an_sms_over_the_cap_and_an_alert_to_a_changed_contact_are_each_counted_once() -> None:
    metrics_emitted()
    changed = WEBER.model_copy(update={"alert_email": "someone.else@example.net"}).with_contacts_verified()
    sender = fake_sender(
        delivery_log=FakeDeliveryLog(cap_reached=True), settings=FakeSettings({WEBER.calendar_id: changed})
    )
    sender.handle(event(one("sms"), one("email")), None)
    emitted = metrics_emitted()
    assert emitted["SmsOverCap"] == (1.0, "Count")
    assert emitted["NotSentContactChanged"] == (1.0, "Count")


# ------------------------------------------------------------------------------------------------
# Whose contact it still is
# ------------------------------------------------------------------------------------------------
def test_a_calendar_whose_settings_are_gone_gets_no_sms_or_email_but_its_feed_entry() -> None:
    feed = FakeFeed()
    sender = fake_sender(settings=FakeSettings({}), feed=feed)
    sender.handle(event(one("sms"), one("email"), one("in_app")), None)
    assert isinstance(sender.sms, FakeSms) and isinstance(sender.email, FakeEmail)
    assert sender.sms.outbox == [] and sender.email.outbox == []
    assert len(feed.entries) == 1


def test_an_in_app_alert_is_written_to_the_feed_whatever_its_message_says_of_a_contact() -> None:
    feed = FakeFeed()
    stray = one("in_app").model_copy(update={"to": "someone@example.net"})
    fake_sender(settings=FakeSettings({WEBER.calendar_id: WEBER}), feed=feed).handle(event(stray), None)
    assert len(feed.entries) == 1


def test_a_code_for_a_contact_proven_meanwhile_is_not_sent_again() -> None:
    pending = WEBER.model_copy(update={"verified_mobile": None})
    code = Notification(
        notification_id="code-1", channel="sms", to="+4915123456789", alert=alert(kind="verification")
    )
    sender = fake_sender(settings=FakeSettings({WEBER.calendar_id: WEBER}))
    sender.handle(event(code), None)
    assert isinstance(sender.sms, FakeSms) and sender.sms.outbox == []
    sender = fake_sender(settings=FakeSettings({WEBER.calendar_id: pending}))
    sender.handle(event(code), None)
    assert isinstance(sender.sms, FakeSms) and len(sender.sms.outbox) == 1


# ------------------------------------------------------------------------------------------------
# Early deletes, back-off and pushes without their collaborators, or failing
# ------------------------------------------------------------------------------------------------
class _NoCompletion(InMemoryIdempotency):
    def _update_record(self, data_record: DataRecord) -> None:
        raise TransientError("dynamodb.UpdateItem: ThrottlingException")


def test_without_in_flight_control_a_delivery_whose_record_was_not_completed_lets_the_batch_go_on() -> None:
    sender = fake_sender(idempotency_store=_NoCompletion(), in_flight=None)
    response = sender.handle(event(one("sms"), one("email")), None)
    assert response["batchItemFailures"] == []
    assert isinstance(sender.email, FakeEmail) and len(sender.email.outbox) == 1


def test_without_in_flight_control_a_failed_message_just_waits_for_its_visibility_timeout() -> None:
    sender = fake_sender(sms=FakeSms(failures=[TransientError("sns.Publish: Throttling")]), in_flight=None)
    assert sender.handle(event(one("sms")), None)["batchItemFailures"] == [{"itemIdentifier": "m-0"}]


def test_a_push_that_fails_outside_our_errors_is_logged_by_its_type(caplog: pytest.LogCaptureFixture) -> None:
    sender = fake_sender(push=FakePush(failure=ConnectionResetError("reset")))
    with caplog.at_level(logging.WARNING):
        sender.handle(event(one("in_app")), None)
    (line,) = [r for r in caplog.records if r.getMessage().startswith("push failed")]
    assert line.reason == "ConnectionResetError"  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------
# The digest: its hold's end, its records' lifetime, calendars sharing a phone
# ------------------------------------------------------------------------------------------------
WINDOW = datetime(2027, 9, 8, 12, 0, tzinfo=UTC)


def _burst(sender: AlertSender, settings: CalendarSettings = SMS_ONLY, *, start: int = 1) -> None:
    sender.handle(
        event(
            *(
                one("sms", settings, alert(f"apt-{n}", calendar_id=settings.calendar_id))
                for n in range(start, start + 2)
            )
        ),
        None,
    )


def digest_sender(**overrides: Any) -> AlertSender:
    collaborators: dict[str, Any] = {"sms_digest_after": 1, "digests": FakeQueue(), "clock": lambda: NOW}
    return fake_sender(**{**collaborators, **overrides})


def test_a_digest_goes_out_at_its_windows_very_end_and_is_held_for_the_last_second_before_it() -> None:
    clock = [WINDOW + DIGEST_WINDOW - timedelta(seconds=0.5)]
    in_flight = FakeInFlight()
    sender = digest_sender(clock=lambda: clock[0], in_flight=in_flight)
    _burst(sender)
    assert isinstance(sender.digests, FakeQueue)
    (digest,) = sender.digests.sent
    sender.handle(event(digest), None)
    assert in_flight.held == [("r-0", 1)]
    clock[0] = WINDOW + DIGEST_WINDOW
    assert sender.handle(event(digest), None)["batchItemFailures"] == []
    assert isinstance(sender.sms, FakeSms) and len(sender.sms.outbox) == 2


def test_a_digest_held_on_the_functions_own_clock_waits_at_most_one_window() -> None:
    in_flight = FakeInFlight()
    sender = digest_sender(in_flight=in_flight)
    _burst(sender)
    assert isinstance(sender.digests, FakeQueue)
    (digest,) = sender.digests.sent
    later = digest.model_copy(update={"digest_window": datetime.now(UTC) + timedelta(days=1)})
    fake_sender(in_flight=in_flight).handle(event(later), None)  # the default clock: now, in UTC
    assert in_flight.held[-1][1] == DIGEST_WINDOW.total_seconds()


def test_a_windows_records_are_kept_as_long_as_its_digest_may_be_redriven() -> None:
    log = _Expiring()
    _burst(digest_sender(delivery_log=log))
    assert log.expiries["digest count"] == int((NOW + DIGEST_MEMORY).timestamp())
    assert log.expiries["digest line"] == int((NOW + DIGEST_MEMORY).timestamp())


def test_two_calendars_on_one_practice_phone_each_send_their_first_sms_alone() -> None:
    roth = SMS_ONLY.model_copy(update={"calendar_id": "cal-dr-roth"})
    sender = digest_sender()
    sender.handle(
        event(one("sms", SMS_ONLY), one("sms", roth, alert("apt-2", calendar_id="cal-dr-roth"))), None
    )
    assert isinstance(sender.sms, FakeSms) and len(sender.sms.outbox) == 2


def test_each_window_of_a_calendar_has_a_digest_of_its_own() -> None:
    sender = digest_sender()
    _burst(sender)
    later = [
        one("sms", SMS_ONLY, alert(f"apt-{n}").model_copy(update={"changed_at": NOW + DIGEST_WINDOW}))
        for n in (5, 6)
    ]
    sender.handle(event(*later), None)
    assert isinstance(sender.digests, FakeQueue)
    first, second = sender.digests.sent
    assert first.notification_id != second.notification_id


def test_without_a_queue_for_digests_every_sms_goes_out_alone() -> None:
    sender = fake_sender(sms_digest_after=1, digests=None)
    _burst(sender)
    assert isinstance(sender.sms, FakeSms) and len(sender.sms.outbox) == 2


def test_a_digest_whose_lines_are_gone_is_parked_saying_so() -> None:
    sender = digest_sender()
    _burst(sender)
    assert isinstance(sender.digests, FakeQueue) and isinstance(sender.delivery_log, FakeDeliveryLog)
    (digest,) = sender.digests.sent
    sender.delivery_log.digests.clear()
    sender.handle(event(digest, receives=2), None)
    assert parked(sender) == ["digest_expired: the digest's lines are no longer kept"]


def test_a_new_mobile_number_starts_its_own_window_even_inside_the_old_numbers() -> None:
    moved = SMS_ONLY.model_copy(update={"alert_mobile": "+4915199999999"}).with_contacts_verified()
    sender = digest_sender()
    sender.handle(event(one("sms", SMS_ONLY), one("sms", moved, alert("apt-2"))), None)
    assert isinstance(sender.sms, FakeSms)
    assert [to for to, _ in sender.sms.outbox] == ["+4915123456789", "+4915199999999"]


def test_a_digest_over_the_sms_cap_leaves_its_alerts_to_the_emails_that_told_each() -> None:
    sender = digest_sender(sms_per_calendar_per_hour=1)
    sender.handle(event(one("sms"), one("sms", content=alert("apt-2"))), None)
    assert isinstance(sender.digests, FakeQueue)
    (digest,) = sender.digests.sent
    assert sender.handle(event(digest, receives=2), None)["batchItemFailures"] == []
    assert parked(sender) == []
