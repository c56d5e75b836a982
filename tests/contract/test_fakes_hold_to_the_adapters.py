"""One contract per fake in tests/fakes.py, run on the fake and on its real adapter.

The unit tests trust the fakes; these tests are why they may. Each case gives both the same
inputs and checks the same outputs, errors and counts: requests of ten, deduplication, the
back-off sequence, the SMS cap in segments, the idempotency takeover of an abandoned delivery,
the addresses SNS and SES refuse. A fake that drifts from its adapter fails here first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from practitioner_alerts.adapters.dynamodb import (
    AlertsFeedTable,
    CalendarSettingsTable,
    DeliveryFailure,
    DeliveryLogTable,
    FeedEntry,
)
from practitioner_alerts.adapters.ses import EmailGateway
from practitioner_alerts.adapters.sns import SmsGateway
from practitioner_alerts.adapters.sqs import DeadLetterQueue, InFlightMessages, NotificationQueue
from practitioner_alerts.domain.digest import DigestLine
from practitioner_alerts.domain.notifications import AlertContent, Notification, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import PermanentError
from practitioner_alerts.rendering import Email
from practitioner_alerts.sender import IDEMPOTENCY_KEY_PREFIX, IDEMPOTENCY_TTL
from tests.contract.conftest import ON_DYNAMODB, real_dynamodb
from tests.fakes import (
    FakeDeliveryLog,
    FakeEmail,
    FakeFeed,
    FakeInFlight,
    FakeParkingLot,
    FakeQueue,
    FakeSettings,
    FakeSms,
    InMemoryIdempotency,
    fake_sender,
)

REGION = "eu-central-1"
ACCOUNT = "123456789012"
WEBER = CalendarSettings(
    calendar_id="cal-dr-weber", alert_email="praxis.weber@example.com", alert_mobile="+4915123456789"
).with_contacts_verified()
BOOKING = AlertContent(
    kind="booked",
    calendar_id="cal-dr-weber",
    appointment_id="apt-1001",
    starts_at=datetime(2027, 9, 9, 10, tzinfo=UTC),
    changed_at=datetime(2027, 9, 1, 16, tzinfo=UTC),
    time_zone="Europe/Berlin",
    locale="de",
)


def aws(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def make_table(name: str, *keys: str) -> str:
    schema = [{"AttributeName": keys[0], "KeyType": "HASH"}]
    if len(keys) > 1:
        schema.append({"AttributeName": keys[1], "KeyType": "RANGE"})
    aws("dynamodb").create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def make_fifo_queue(name: str) -> str:
    url: str = aws("sqs").create_queue(
        QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]
    return url


def alerts(*appointment_ids: str) -> list[list[Notification]]:
    return [
        notifications_for(BOOKING.model_copy(update={"appointment_id": a}), WEBER, in_app=True)
        for a in appointment_ids
    ]


# ------------------------------------------------------------------------------------------------
# The notification queue: FakeQueue and NotificationQueue on SQS
# ------------------------------------------------------------------------------------------------
@dataclass
class Queue:
    sink: Any
    requests: Callable[[], int]
    queued: Callable[[], list[str]]  # notification ids, as a consumer receives them


def _real_queue() -> Queue:
    sqs = aws("sqs")
    url = make_fifo_queue("notifications")
    requests: list[int] = []
    sqs.meta.events.register("before-call.sqs.SendMessageBatch", lambda **_: requests.append(1))
    received: list[str] = []

    def queued() -> list[str]:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                received.append(json.loads(message["Body"])["notification_id"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return sorted(received)

    return Queue(NotificationQueue(sqs, url), lambda: len(requests), queued)


def _fake_queue() -> Queue:
    fake = FakeQueue()
    return Queue(fake, lambda: fake.requests, lambda: sorted(n.notification_id for n in fake.sent))


@pytest.fixture(params=["fake", "sqs"])
def queue(request: pytest.FixtureRequest) -> Queue:
    if request.param == "fake":
        return _fake_queue()
    request.getfixturevalue("on_moto")
    return _real_queue()


def test_queue_sends_ten_notifications_to_a_request(queue: Queue) -> None:
    batch = alerts(*(f"apt-{i}" for i in range(7)))  # 21 notifications
    outcome = queue.sink.enqueue_in_order(batch)
    assert outcome.retry_from is None and not outcome.rejected
    assert queue.requests() == 3
    assert queue.queued() == sorted(n.notification_id for record in batch for n in record)


def test_queue_takes_each_notification_once(queue: Queue) -> None:
    batch = alerts(*(f"apt-{i}" for i in range(4)))
    queue.sink.enqueue_in_order(batch)
    queue.sink.enqueue_in_order(batch)  # the same stream batch again, within five minutes
    queue.sink.enqueue(batch[0])
    assert queue.requests() == 2 + 2 + 1
    assert len(queue.queued()) == 12


def test_queue_starts_a_new_request_for_a_second_change_to_an_appointment(queue: Queue) -> None:
    booked, cancelled = alerts("apt-1", "apt-1")
    cancelled = [n.model_copy(update={"notification_id": n.notification_id + "-c"}) for n in cancelled]
    queue.sink.enqueue_in_order([booked, cancelled])
    assert queue.requests() == 2
    assert len(queue.queued()) == 6


def test_queue_starts_no_request_without_the_time_for_it(queue: Queue) -> None:
    answers = iter([True, False])
    outcome = queue.sink.enqueue_in_order(alerts(*(f"apt-{i}" for i in range(7))), lambda: next(answers))
    assert queue.requests() == 1
    # The 11th notification belongs to the fourth alert: it and all after it come again.
    assert outcome.retry_from == 3 and outcome.retry_reason.startswith("out of time")
    assert len(queue.queued()) == 10


# ------------------------------------------------------------------------------------------------
# Messages in flight: FakeInFlight and InFlightMessages on SQS
# ------------------------------------------------------------------------------------------------
@pytest.fixture(params=["fake", "sqs"])
def in_flight(request: pytest.FixtureRequest) -> tuple[Any, Callable[[], str]]:
    if request.param == "fake":
        return FakeInFlight(), lambda: "receipt"
    request.getfixturevalue("on_moto")
    sqs = aws("sqs")
    url = make_fifo_queue("notifications")

    def receipt() -> str:
        sqs.send_message(
            QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId=str(time.time())
        )
        (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        return str(message["ReceiptHandle"])

    return InFlightMessages(sqs, url), receipt


def test_back_off_starts_at_ten_seconds_doubles_and_stops_at_five_minutes(
    in_flight: tuple[Any, Callable[[], str]],
) -> None:
    messages, receipt = in_flight
    delays = []
    for receives in range(1, 8):
        handle = receipt()
        delays.append(messages.postpone(handle, receives))
        messages.settle(handle)
    assert delays == [10, 20, 40, 80, 160, 300, 300]


def test_a_held_message_stays_out_of_sight_for_the_seconds_asked(
    in_flight: tuple[Any, Callable[[], str]],
) -> None:
    messages, receipt = in_flight
    handle = receipt()
    messages.hold(handle, 240)
    if isinstance(messages, FakeInFlight):
        assert messages.held == [(handle, 240)]
        return
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="notifications.fifo")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    hidden = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert hidden["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"


# ------------------------------------------------------------------------------------------------
# The delivery log: FakeDeliveryLog and DeliveryLogTable on DynamoDB
# ------------------------------------------------------------------------------------------------
@pytest.fixture(params=ON_DYNAMODB)
def delivery_log(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if request.param == "fake":
        yield FakeDeliveryLog()
        return
    with real_dynamodb(request.param, request, monkeypatch):
        yield DeliveryLogTable(aws("dynamodb"), make_table("delivery-log", "calendar_id", "entry"))


def test_sms_cap_counts_per_calendar_and_hour(delivery_log: Any) -> None:
    spent = [delivery_log.spend_sms("cal-1", "2027-09-08T13", cap=3, expires_at=1) for _ in range(5)]
    assert spent == [True, True, True, False, False]
    assert delivery_log.spend_sms("cal-1", "2027-09-08T14", cap=3, expires_at=1)
    assert delivery_log.spend_sms("cal-2", "2027-09-08T13", cap=3, expires_at=1)


def test_sms_cap_counts_segments_and_a_refusal_counts_nothing(delivery_log: Any) -> None:
    hour = "2027-09-08T13"
    spend = delivery_log.spend_sms
    assert [spend("cal-1", hour, cap=5, expires_at=1, segments=2) for _ in range(3)] == [True, True, False]
    assert spend("cal-1", hour, cap=5, expires_at=1, segments=1)  # 4 + 1 fits
    assert not spend("cal-1", hour, cap=5, expires_at=1, segments=1)
    assert not spend("cal-2", hour, cap=1, expires_at=1, segments=2)  # never fits


def test_delivery_log_keeps_the_last_failure_per_channel_and_who_sent_an_sms(delivery_log: Any) -> None:
    delivery_log.record_failure("cal-1", DeliveryFailure("sms", "old", "2027-09-08T10:00:00+00:00"), 1)
    delivery_log.record_failure("cal-1", DeliveryFailure("sms", "new", "2027-09-08T11:00:00+00:00"), 1)
    delivery_log.record_failure("cal-1", DeliveryFailure("email", "bounce", "2027-09-08T12:00:00+00:00"), 1)
    failures = delivery_log.last_failures("cal-1")
    assert {channel: f.reason for channel, f in failures.items()} == {"sms": "new", "email": "bounce"}
    assert delivery_log.last_failures("cal-2") == {}
    delivery_log.remember_sms("sns-1", "cal-1", expires_at=1)
    assert delivery_log.calendar_of_sms("sns-1") == "cal-1"
    assert delivery_log.calendar_of_sms("sns-2") is None


def _line(notification_id: str, starts_at: datetime) -> DigestLine:
    return DigestLine(
        notification_id=notification_id,
        kind="booked",
        appointment_id=f"apt-{notification_id}",
        starts_at=starts_at,
    )


def test_a_digest_window_counts_its_alerts_until_it_is_closed(delivery_log: Any) -> None:
    counts = [delivery_log.count_sms_alert("cal-1", "sms-digest#w1", expires_at=1) for _ in range(3)]
    assert counts == [1, 2, 3]
    assert delivery_log.count_sms_alert("cal-1", "sms-digest#w2", expires_at=1) == 1
    assert delivery_log.count_sms_alert("cal-2", "sms-digest#w1", expires_at=1) == 1
    delivery_log.join_digest("cal-1", "sms-digest#w1", _line("n1", BOOKING.starts_at), expires_at=1)
    delivery_log.close_digest("cal-1", "sms-digest#w1")
    assert delivery_log.count_sms_alert("cal-1", "sms-digest#w1", expires_at=1) is None


def test_a_digest_holds_each_line_once_in_order_of_start_and_none_after_it_closed(delivery_log: Any) -> None:
    later, earlier = BOOKING.starts_at + timedelta(hours=1), BOOKING.starts_at
    assert delivery_log.join_digest("cal-1", "sms-digest#w1", _line("n2", later), expires_at=1)
    assert delivery_log.join_digest("cal-1", "sms-digest#w1", _line("n1", earlier), expires_at=1)
    assert delivery_log.join_digest("cal-1", "sms-digest#w1", _line("n2", later), expires_at=1)  # again
    lines = delivery_log.close_digest("cal-1", "sms-digest#w1")
    assert [line.notification_id for line in lines] == ["n1", "n2"]
    assert lines[0] == _line("n1", earlier)
    # Closed: a line that joined before is still in it; a new one is not taken.
    assert delivery_log.join_digest("cal-1", "sms-digest#w1", _line("n2", later), expires_at=1)
    assert not delivery_log.join_digest("cal-1", "sms-digest#w1", _line("n3", later), expires_at=1)
    assert delivery_log.close_digest("cal-1", "sms-digest#w1") == lines  # closing again: the same lines


def test_a_digest_that_was_never_opened_closes_to_nothing(delivery_log: Any) -> None:
    assert delivery_log.close_digest("cal-1", "sms-digest#never") is None


# ------------------------------------------------------------------------------------------------
# Idempotency: InMemoryIdempotency and Powertools' DynamoDB store, through the real sender
# ------------------------------------------------------------------------------------------------
@pytest.fixture(params=ON_DYNAMODB)
def idempotency_store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BasePersistenceLayer]:
    if request.param == "fake":
        yield InMemoryIdempotency()
        return
    with real_dynamodb(request.param, request, monkeypatch):
        yield DynamoDBPersistenceLayer(
            table_name=make_table("idempotency", "id"), boto3_client=aws("dynamodb")
        )


@dataclass
class _Context:
    remaining_ms: int = 60_000
    function_name: str = "SenderFunction"
    aws_request_id: str = "request"
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:SenderFunction"
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/SenderFunction"
    log_stream_name: str = "stream"
    identity: Any = None
    client_context: Any = None
    tenant_id: Any = None
    calls: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _queue_event(notification: Notification) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "m-0",
                "receiptHandle": "r-0",
                "body": notification.model_dump_json(),
                "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": "g-0"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
        ]
    }


def _an_sms() -> Notification:
    (sms,) = notifications_for(BOOKING, WEBER.model_copy(update={"alert_email": None}), in_app=False)
    return sms


def _started_elsewhere(store: BasePersistenceLayer, notification: Notification, remaining_ms: int) -> None:
    """Another invocation began delivering ``notification`` with ``remaining_ms`` left to it."""
    config = IdempotencyConfig(
        event_key_jmespath="notification_id", expires_after_seconds=int(IDEMPOTENCY_TTL.total_seconds())
    )
    store.configure(config, None, key_prefix=IDEMPOTENCY_KEY_PREFIX)
    store.save_inprogress(
        {"notification_id": notification.notification_id}, remaining_time_in_millis=remaining_ms
    )


def test_a_notification_delivered_before_is_not_sent_again(idempotency_store: BasePersistenceLayer) -> None:
    sender = fake_sender(idempotency_store=idempotency_store)
    for _ in range(3):
        assert sender.handle(_queue_event(_an_sms()), _Context()) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert len(sender.sms.outbox) == 1  # type: ignore[attr-defined]


def test_a_delivery_in_progress_elsewhere_is_handed_back_not_sent_twice(
    idempotency_store: BasePersistenceLayer,
) -> None:
    sender = fake_sender(idempotency_store=idempotency_store)
    _started_elsewhere(idempotency_store, _an_sms(), remaining_ms=60_000)
    response = sender.handle(_queue_event(_an_sms()), _Context())  # type: ignore[arg-type]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert sender.sms.outbox == []  # type: ignore[attr-defined]


def test_a_delivery_whose_invocation_died_is_taken_over(idempotency_store: BasePersistenceLayer) -> None:
    # Its invocation timed out (its in-progress expiry passed) before SNS was called: the
    # record is not complete and must not block the alert for the record's seven days.
    sender = fake_sender(idempotency_store=idempotency_store)
    _started_elsewhere(idempotency_store, _an_sms(), remaining_ms=0)
    time.sleep(0.01)
    assert sender.handle(_queue_event(_an_sms()), _Context()) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert len(sender.sms.outbox) == 1  # type: ignore[attr-defined]
    assert sender.handle(_queue_event(_an_sms()), _Context()) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert len(sender.sms.outbox) == 1  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------
# SMS and e-mail: FakeSms and SmsGateway on SNS, FakeEmail and EmailGateway on SES
# ------------------------------------------------------------------------------------------------
@pytest.fixture(params=["fake", "sns"])
def sms(request: pytest.FixtureRequest) -> tuple[Any, Callable[[], int]]:
    if request.param == "fake":
        fake = FakeSms()
        return fake, lambda: len(fake.outbox)
    request.getfixturevalue("on_moto")
    return SmsGateway(aws("sns"), "Praxis"), lambda: len(sns_backends[ACCOUNT][REGION].sms_messages)


def test_an_sms_to_a_mobile_number_is_sent_with_a_message_id(sms: tuple[Any, Callable[[], int]]) -> None:
    gateway, sent = sms
    assert isinstance(gateway.send("+4915123456789", "Neuer Online-Termin"), str)
    assert sent() == 1


@pytest.mark.parametrize("number", ["0151 23456789", "+49abc", ""])
def test_an_sms_to_what_is_no_e164_number_is_refused_for_good(
    sms: tuple[Any, Callable[[], int]], number: str
) -> None:
    gateway, sent = sms
    with pytest.raises(PermanentError, match=r"sns\.Publish: InvalidParameter"):
        gateway.send(number, "x")
    assert sent() == 0


@pytest.fixture(params=["fake", "ses"])
def mail(request: pytest.FixtureRequest) -> tuple[Any, Callable[[], int]]:
    if request.param == "fake":
        fake = FakeEmail()
        return fake, lambda: len(fake.outbox)
    request.getfixturevalue("on_moto")
    ses = aws("sesv2")
    ses.create_email_identity(EmailIdentity="alerts@example.com")
    return EmailGateway(ses, "alerts@example.com", None), lambda: len(
        ses_backends[ACCOUNT][REGION].sent_messages
    )


def test_an_email_to_a_plain_address_is_sent_with_a_message_id(mail: tuple[Any, Callable[[], int]]) -> None:
    gateway, sent = mail
    assert isinstance(gateway.send("praxis.weber@example.com", Email(subject="s", text="t", html="h")), str)
    assert sent() == 1


@pytest.mark.parametrize(
    "address", ["praxis.weber@example.com\r\nBcc: evil@example.com", "praxis.weber", "a, b@example.com", ""]
)
def test_an_email_to_what_is_no_plain_address_is_refused_for_good(
    mail: tuple[Any, Callable[[], int]], address: str
) -> None:
    gateway, sent = mail
    with pytest.raises(PermanentError, match="invalid_address") as raised:
        gateway.send(address, Email(subject="s", text="t", html="h"))
    assert raised.value.code == "InvalidAddress"
    assert sent() == 0


# ------------------------------------------------------------------------------------------------
# The feed, the parking lot and the settings: FakeFeed, FakeParkingLot, FakeSettings
# ------------------------------------------------------------------------------------------------
def _entry(alert_id: str, headline: str) -> FeedEntry:
    return FeedEntry(
        calendar_id="cal-1",
        alert_id=alert_id,
        kind="booked",
        appointment_id="apt-1",
        headline=headline,
        starts_at="2027-09-09T12:00:00+02:00",
        previous_starts_at=None,
        changed_at="2027-09-01T18:30:00+02:00",
        expires_at=int((datetime.now(UTC) + timedelta(days=30)).timestamp()),
    )


@pytest.fixture(params=ON_DYNAMODB)
def feed(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, Callable[[], list[tuple[str, str]]]]]:
    if request.param == "fake":
        fake = FakeFeed()
        yield fake, lambda: sorted((e.alert_id, e.headline) for e in fake.entries.values())
        return
    with real_dynamodb(request.param, request, monkeypatch):
        table = AlertsFeedTable(aws("dynamodb"), make_table("feed", "calendar_id", "alert_id"))

        def entries() -> list[tuple[str, str]]:
            page = table.page("cal-1", limit=50, cursor=None, unread_only=False)
            return sorted((e.alert_id, e.headline) for e in page.entries)

        yield table, entries


def test_a_feed_entry_written_again_stays_as_it_was_first_written(
    feed: tuple[Any, Callable[[], list[tuple[str, str]]]],
) -> None:
    table, entries = feed
    table.add(_entry("a-1", "first"))
    table.add(_entry("a-1", "again"))
    table.add(_entry("a-2", "other"))
    assert entries() == [("a-1", "first"), ("a-2", "other")]


@pytest.fixture(params=["fake", "sqs"])
def parking(request: pytest.FixtureRequest) -> tuple[Any, Callable[[], list[dict[str, Any]]]]:
    if request.param == "fake":
        fake = FakeParkingLot()
        return fake, lambda: [{k: p[k] for k in ("source", "reason", "payload")} for p in fake.parked]
    request.getfixturevalue("on_moto")
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="parked")["QueueUrl"]

    def parked() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    return DeadLetterQueue(sqs, url), parked


def test_a_parked_record_keeps_its_source_reason_and_payload(
    parking: tuple[Any, Callable[[], list[dict[str, Any]]]],
) -> None:
    lot, parked = parking
    lot.park(source="detector", reason="NewImage.starts_at: missing", payload={"eventID": "e-1"})
    assert parked() == [
        {"source": "detector", "reason": "NewImage.starts_at: missing", "payload": {"eventID": "e-1"}}
    ]


@pytest.fixture(params=ON_DYNAMODB)
def settings(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[list[CalendarSettings]], Any]]:
    if request.param == "fake":
        yield lambda calendars: FakeSettings({c.calendar_id: c for c in calendars})
        return
    with real_dynamodb(request.param, request, monkeypatch):
        table = CalendarSettingsTable(aws("dynamodb"), make_table("settings", "calendar_id"))

        def stored(calendars: list[CalendarSettings]) -> CalendarSettingsTable:
            for calendar in calendars:
                table.put(calendar)
            return table

        yield stored


def test_settings_are_read_for_the_calendars_asked_that_exist(
    settings: Callable[[list[CalendarSettings]], Any],
) -> None:
    source = settings([WEBER, WEBER.model_copy(update={"calendar_id": "cal-other"})])
    found = source.get_many(["cal-dr-weber", "cal-missing"])
    assert list(found) == ["cal-dr-weber"]
    assert found["cal-dr-weber"].channels == ("sms", "email")
