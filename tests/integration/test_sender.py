"""The sender: exactly-once delivery, parking and per-appointment ordering.

SMS, e-mail and the feed are in-memory fakes; idempotency uses a real (moto) DynamoDB table,
because that is where "exactly once" is actually decided.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from moto.ses.models import ses_backends

import practitioner_alerts.sender as sender_module
from practitioner_alerts.adapters.ses import EmailGateway
from practitioner_alerts.domain.notifications import AlertContent, Notification, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import OperatorError, PermanentError, TransientError
from practitioner_alerts.rendering import count_segments
from practitioner_alerts.sender import AlertSender
from practitioner_alerts.settings_api.service import alert_view
from tests.fakes import (
    FakeDeliveryLog,
    FakeEmail,
    FakePush,
    fake_sender,
)
from tests.integration.conftest import client

pytestmark = pytest.mark.usefixtures("aws")

WEBER = CalendarSettings(
    calendar_id="cal-dr-weber",
    practitioner_name="Dr. Anna Weber",
    alert_email="praxis.weber@example.com",
    alert_mobile="+4915123456789",
).with_contacts_verified()


def booking(appointment_id: str = "apt-1001", kind: str = "booked") -> AlertContent:
    return AlertContent(
        kind=kind,  # type: ignore[arg-type]
        calendar_id="cal-dr-weber",
        appointment_id=appointment_id,
        starts_at=datetime(2027, 9, 9, 10, tzinfo=UTC),
        changed_at=datetime(2027, 9, 1, 16, tzinfo=UTC)
        if kind == "booked"
        else datetime(2027, 9, 8, 11, tzinfo=UTC),
        patient_first_name="Maria",
        patient_last_name="Müller",
        visit_motive="Erstuntersuchung",
        practitioner_name="Dr. Anna Weber",
        time_zone="Europe/Berlin",
        locale="de",
    )


def sqs_event(notifications: list[Notification], bodies: list[str] | None = None) -> dict[str, Any]:
    """A Lambda SQS event from a FIFO queue, as the event source mapping builds it."""
    bodies = bodies or [n.model_dump_json() for n in notifications]
    groups = [n.alert.appointment_id for n in notifications] or ["apt-x"] * len(bodies)
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1820000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1820000000001",
                    "SequenceNumber": str(18800000000000000000 + index),
                    "MessageGroupId": groups[index],
                    "MessageDeduplicationId": f"d-{index}",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:notifications.fifo",
                "awsRegion": "eu-central-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


@pytest.fixture
def sender() -> AlertSender:
    client("dynamodb").create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # Idempotency on a real table: that is where "exactly once" is decided.
    return fake_sender(
        idempotency_store=DynamoDBPersistenceLayer(table_name="idempotency", boto3_client=client("dynamodb"))
    )


def test_each_channel_is_delivered_once_even_when_the_message_comes_again(sender: AlertSender) -> None:
    notifications = notifications_for(booking(), WEBER, in_app=True)
    assert sender.handle(sqs_event(notifications), None) == {"batchItemFailures": []}
    assert sender.handle(sqs_event(notifications), None) == {"batchItemFailures": []}
    assert [to for to, _ in sender.sms.outbox] == ["+4915123456789"]
    assert [to for to, _ in sender.email.outbox] == ["praxis.weber@example.com"]
    (entry,) = sender.feed.entries.values()
    assert entry.appointment_id == "apt-1001" and entry.kind == "booked"


def test_the_feed_entry_needs_no_idempotency_record_and_still_appears_once(sender: AlertSender) -> None:
    (in_app,) = (n for n in notifications_for(booking(), WEBER, in_app=True) if n.channel == "in_app")
    sender.handle(sqs_event([in_app]), None)
    sender.handle(sqs_event([in_app]), None)
    assert len(sender.feed.entries) == 1  # type: ignore[attr-defined]
    assert client("dynamodb").scan(TableName="idempotency")["Count"] == 0


def test_sms_leaves_out_the_visit_motive_and_the_email_names_the_calendar(sender: AlertSender) -> None:
    opted_in = WEBER.model_copy(update={"visit_motive_in_email": True})
    sender.handle(sqs_event(notifications_for(booking(), opted_in, in_app=False)), None)
    (_, text), (_, mail) = sender.sms.outbox[0], sender.email.outbox[0]
    assert "Erstuntersuchung" not in text and "M. Müller" in text and "12:00" in text
    assert "Dr. Anna Weber" in mail.text and "Erstuntersuchung" in mail.text


def test_without_the_opt_in_the_email_leaves_out_the_visit_motive(sender: AlertSender) -> None:
    sender.handle(sqs_event(notifications_for(booking(), WEBER, in_app=False)), None)
    (_, mail) = sender.email.outbox[0]
    assert "Erstuntersuchung" not in mail.text and "Erstuntersuchung" not in mail.html


def test_invalid_number_is_parked_with_its_reason_and_email_still_goes(sender: AlertSender) -> None:
    sender.sms.failures.append(PermanentError("sns.Publish: InvalidParameter"))
    response = sender.handle(sqs_event(notifications_for(booking(), WEBER, in_app=False)), None)
    assert response == {"batchItemFailures": []}
    (parked,) = sender.parking.parked
    assert (parked["source"], parked["reason"], parked["group"]) == (
        "sender",
        "sns.Publish: InvalidParameter",
        "apt-1001",
    )
    assert len(sender.email.outbox) == 1
    # The practitioner will see why in their settings.
    assert sender.delivery_log.failures[("cal-dr-weber", "sms")].reason == "sns.Publish: InvalidParameter"


def test_sms_over_the_hourly_cap_is_covered_by_the_email(sender: AlertSender) -> None:
    sender.delivery_log.cap_reached = True
    response = sender.handle(sqs_event(notifications_for(booking(), WEBER, in_app=False)), None)
    assert response == {"batchItemFailures": []}
    assert sender.sms.outbox == [] and len(sender.email.outbox) == 1
    assert sender.parking.parked == []


def test_sms_over_the_hourly_cap_without_email_is_parked_never_dropped(sender: AlertSender) -> None:
    sender.delivery_log.cap_reached = True
    mobile_only = WEBER.model_copy(update={"alert_email": None})
    sender.handle(sqs_event(notifications_for(booking(), mobile_only, in_app=False)), None)
    assert sender.sms.outbox == []
    (parked,) = sender.parking.parked
    assert parked["reason"].startswith("sms_cap_reached")


def test_sent_sms_is_remembered_for_its_delivery_receipt(sender: AlertSender) -> None:
    sender.handle(sqs_event(notifications_for(booking(), WEBER, in_app=False)), None)
    assert sender.delivery_log.sms_owners == {"sms-1": "cal-dr-weber"}


def test_throttled_sms_retries_only_its_own_appointment(sender: AlertSender) -> None:
    sender.sms.failures.append(TransientError("sns.Publish: Throttling"))
    first = notifications_for(booking("apt-1"), WEBER.model_copy(update={"alert_email": None}), in_app=False)
    cancellation = notifications_for(
        booking("apt-1", "cancelled"), WEBER.model_copy(update={"alert_email": None}), in_app=False
    )
    other = notifications_for(booking("apt-2"), WEBER.model_copy(update={"alert_email": None}), in_app=False)
    event = sqs_event(first + cancellation + other)
    response = sender.handle(event, None)
    # apt-1's booking failed, so its cancellation must wait behind it; apt-2 goes on.
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}
    assert len(sender.sms.outbox) == 1
    # Both held-back messages come back after a short, growing delay rather than the full timeout.
    assert sender.in_flight.postponed == [("r-0", 1), ("r-1", 1)]
    # The retry delivers the booking, then the cancellation, and nothing twice.
    retry = {"Records": event["Records"][:2]}
    assert sender.handle(retry, None) == {"batchItemFailures": []}
    assert len(sender.sms.outbox) == 3
    assert "Absage" in sender.sms.outbox[2][1] or "abgesagt" in sender.sms.outbox[2][1]


def test_malformed_message_is_parked_naming_the_field(sender: AlertSender) -> None:
    good = notifications_for(booking(), WEBER, in_app=False)[0]
    broken = json.loads(good.model_dump_json())
    del broken["alert"]["starts_at"]
    event = sqs_event([good, good], bodies=[json.dumps(broken), good.model_dump_json()])
    assert sender.handle(event, None) == {"batchItemFailures": []}
    (parked,) = sender.parking.parked
    assert "body.alert.starts_at: missing" in parked["reason"]
    assert len(sender.sms.outbox) == 1


def test_sms_is_not_sent_again_when_its_bookkeeping_fails_after_sending(sender: AlertSender) -> None:
    class BrokenReceipts(FakeDeliveryLog):
        def remember_sms(self, message_id: str, calendar_id: str, expires_at: int) -> None:
            raise TransientError("dynamodb.PutItem: ThrottlingException")

    broken = dataclasses.replace(sender, delivery_log=BrokenReceipts())
    event = sqs_event(
        notifications_for(booking(), WEBER.model_copy(update={"alert_email": None}), in_app=False)
    )
    assert broken.handle(event, None) == {"batchItemFailures": []}
    assert broken.handle(event, None) == {"batchItemFailures": []}
    assert len(broken.sms.outbox) == 1


def test_sms_is_not_sent_again_when_the_idempotency_record_cannot_be_completed(sender: AlertSender) -> None:
    ddb = client("dynamodb")
    calls = {"n": 0}

    def fail_completion(params: dict[str, Any], **_: Any) -> None:
        # The first UpdateItem on the idempotency table marks the record COMPLETED.
        calls["n"] += 1
        raise TransientError("dynamodb.UpdateItem: ThrottlingException")

    store = DynamoDBPersistenceLayer(table_name="idempotency", boto3_client=ddb)
    ddb.meta.events.register("before-call.dynamodb.UpdateItem", fail_completion)
    flaky = dataclasses.replace(sender, idempotency_store=store)
    event = sqs_event(
        notifications_for(booking(), WEBER.model_copy(update={"alert_email": None}), in_app=False)
    )
    assert flaky.handle(event, None) == {"batchItemFailures": []}
    assert calls["n"] == 1
    assert len(flaky.sms.outbox) == 1


def test_an_alert_that_breaks_rendering_is_parked_alone_and_not_blamed_on_the_practitioner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_render_sms = sender_module.render_sms

    def render_breaking_on_one(alert: AlertContent) -> str:
        if alert.appointment_id == "apt-bad":
            raise OverflowError("date value out of range")
        return real_render_sms(alert)

    monkeypatch.setattr(sender_module, "render_sms", render_breaking_on_one)
    sender = fake_sender()
    bad = notifications_for(booking("apt-bad"), WEBER, in_app=False)
    good = notifications_for(booking("apt-good"), WEBER, in_app=False)

    response = sender.handle(sqs_event(bad + good), None)

    assert response == {"batchItemFailures": []}
    assert [p["reason"] for p in sender.parking.parked] == ["unrenderable_alert: OverflowError"]
    assert len(sender.sms.outbox) == 1 and len(sender.email.outbox) == 2
    assert sender.delivery_log.failures == {}


def test_an_operators_mistake_is_retried_and_never_shown_as_the_practitioners_failure() -> None:
    sender = fake_sender(email=FakeEmail(failures=[OperatorError("sesv2.SendEmail: NotFoundException")]))
    email_only = WEBER.model_copy(update={"alert_mobile": None})

    response = sender.handle(sqs_event(notifications_for(booking(), email_only, in_app=False)), None)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert sender.delivery_log.failures == {} and sender.parking.parked == []
    sender.handle(sqs_event(notifications_for(booking(), email_only, in_app=False)), None)
    assert len(sender.email.outbox) == 1  # once fixed, the alert goes out


def test_idempotency_records_are_keyed_by_the_notification_alone(sender: AlertSender) -> None:
    # Not by the function's deployed name or Python name: a rename must not void the records.
    (sms,) = notifications_for(booking(), WEBER.model_copy(update={"alert_email": None}), in_app=False)

    sender.handle(sqs_event([sms]), None)

    (item,) = client("dynamodb").scan(TableName="idempotency")["Items"]
    digest = hashlib.md5(json.dumps(sms.notification_id).encode()).hexdigest()
    assert item["id"]["S"] == f"practitioner-alerts.notification#{digest}"


# ------------------------------------------------------------------------------------------------
# The pop-up: the feed entry, pushed to its calendar's channel once it is written
# ------------------------------------------------------------------------------------------------
def test_the_feed_entry_is_pushed_to_its_calendars_channel_as_the_feed_shows_it(sender: AlertSender) -> None:
    sender.handle(sqs_event(notifications_for(booking(), WEBER, in_app=True)), None)

    ((channel, event),) = sender.push.alerts()  # type: ignore[attr-defined]
    (entry,) = sender.feed.entries.values()  # type: ignore[attr-defined]
    assert channel == "/alerts/cal-dr-weber"
    assert event == json.loads(alert_view(entry).model_dump_json())
    assert event["read"] is False and event["kind"] == "booked"
    assert "M. Müller" in event["headline"]


def test_the_pushed_event_carries_no_contact_data(sender: AlertSender) -> None:
    sender.handle(sqs_event(notifications_for(booking(), WEBER, in_app=True)), None)
    published = json.dumps(sender.push.published)  # type: ignore[attr-defined]
    for contact in ("praxis.weber@example.com", "+4915123456789", "4915123456789", "Erstuntersuchung"):
        assert contact not in published, contact


def test_sms_and_email_push_nothing(sender: AlertSender) -> None:
    sender.handle(sqs_event(notifications_for(booking(), WEBER, in_app=False)), None)
    assert sender.push.published == []  # type: ignore[attr-defined]


def test_a_failed_push_keeps_the_feed_entry_and_sends_nothing_twice(
    sender: AlertSender, caplog: pytest.LogCaptureFixture
) -> None:
    failing = dataclasses.replace(sender, push=FakePush(failure=TransientError("appsync.Publish: HTTP 503")))
    event = sqs_event(notifications_for(booking(), WEBER, in_app=True))

    with caplog.at_level("WARNING"):
        response = failing.handle(event, None)

    assert response == {"batchItemFailures": []}  # the message is not retried
    assert len(failing.feed.entries) == 1  # type: ignore[attr-defined]
    assert len(failing.sms.outbox) == len(failing.email.outbox) == 1
    (warning,) = [vars(r) for r in caplog.records if r.getMessage().startswith("push failed")]
    assert warning["reason"] == "appsync.Publish: HTTP 503"
    assert failing.parking.parked == []  # type: ignore[attr-defined]


def test_a_push_that_raises_something_unexpected_still_fails_nothing(sender: AlertSender) -> None:
    broken = dataclasses.replace(sender, push=FakePush(failure=RuntimeError("no credentials")))
    (in_app,) = (n for n in notifications_for(booking(), WEBER, in_app=True) if n.channel == "in_app")
    assert broken.handle(sqs_event([in_app]), None) == {"batchItemFailures": []}
    assert len(broken.feed.entries) == 1  # type: ignore[attr-defined]


def test_a_repeated_feed_delivery_pushes_again_with_the_same_alert_id(sender: AlertSender) -> None:
    # The page drops alert ids it has shown; pushing again makes up for a push that was lost.
    (in_app,) = (n for n in notifications_for(booking(), WEBER, in_app=True) if n.channel == "in_app")
    sender.handle(sqs_event([in_app]), None)
    sender.handle(sqs_event([in_app]), None)
    first, second = sender.push.alerts()  # type: ignore[attr-defined]
    assert first == second
    assert len(sender.feed.entries) == 1  # type: ignore[attr-defined]


def test_an_sms_to_a_country_not_allowed_is_parked_and_shown_never_sent(sender: AlertSender) -> None:
    # Entered before the list narrowed, or written around the API: the sender checks again.
    cuban = WEBER.model_copy(update={"alert_mobile": "+5352123456", "verified_mobile": "+5352123456"})
    sender.handle(sqs_event(notifications_for(booking(), cuban, in_app=False)), None)
    assert sender.sms.outbox == [] and len(sender.email.outbox) == 1
    (parked,) = sender.parking.parked
    assert parked["reason"].startswith("sms_country_not_allowed: a number of CU")
    assert "+5352123456" not in parked["reason"]
    failure = sender.delivery_log.failures[("cal-dr-weber", "sms")]
    assert failure.reason.startswith("sms_country_not_allowed")


def test_the_sms_cap_is_spent_in_segments(sender: AlertSender) -> None:
    # A name the GSM-7 alphabet lacks makes the SMS UCS-2: two segments, both counted.
    long_name = booking().model_copy(
        update={"patient_last_name": "Ωmega-Σtratos-Ψarakis-Θeodoridou Χατζηγεωργίου"}
    )
    mobile_only = WEBER.model_copy(update={"alert_email": None, "verified_email": None})
    sender.handle(sqs_event(notifications_for(long_name, mobile_only, in_app=False)), None)
    [text] = [text for _to, text in sender.sms.outbox]
    assert sender.delivery_log.segments_spent == [count_segments(text).segments]
    assert count_segments(text).segments == 2


@dataclasses.dataclass
class SettingsNow:
    calendars: dict[str, CalendarSettings]

    def get(self, calendar_id: str) -> CalendarSettings | None:
        return self.calendars.get(calendar_id)


def test_a_contact_deleted_after_the_alert_was_queued_gets_nothing() -> None:
    queued = notifications_for(booking(), WEBER, in_app=True)
    now = WEBER.model_copy(update={"alert_mobile": None, "verified_mobile": None})
    sender = fake_sender(settings=SettingsNow({"cal-dr-weber": now}))
    response = sender.handle(sqs_event(queued), None)
    assert response == {"batchItemFailures": []}
    assert sender.sms.outbox == []  # deleted: nothing more goes to it
    assert [to for to, _ in sender.email.outbox] == ["praxis.weber@example.com"]
    assert len(sender.feed.entries) == 1 and sender.parking.parked == []


def test_a_contact_changed_after_the_alert_was_queued_gets_nothing() -> None:
    queued = notifications_for(booking(), WEBER, in_app=False)
    moved = WEBER.model_copy(update={"alert_email": "neu@example.com"})  # pending, not proven
    sender = fake_sender(settings=SettingsNow({"cal-dr-weber": moved}))
    sender.handle(sqs_event(queued), None)
    assert sender.email.outbox == [] and len(sender.sms.outbox) == 1


def test_a_code_goes_only_while_its_contact_is_still_pending() -> None:
    code = booking().model_copy(update={"kind": "verification", "verification_code": "123456"})
    pending = CalendarSettings(calendar_id="cal-dr-weber", alert_mobile="+4915123456789")
    [notification] = [
        n.model_copy(update={"to": "+4915123456789", "channel": "sms"})
        for n in notifications_for(code, WEBER, in_app=False)
        if n.channel == "sms"
    ]
    still = fake_sender(settings=SettingsNow({"cal-dr-weber": pending}))
    still.handle(sqs_event([notification]), None)
    assert len(still.sms.outbox) == 1
    deleted = fake_sender(
        settings=SettingsNow({"cal-dr-weber": CalendarSettings(calendar_id="cal-dr-weber")})
    )
    deleted.handle(sqs_event([notification]), None)
    assert deleted.sms.outbox == []


@dataclass
class _Clock:
    """A Lambda context whose remaining time is read off a script, one value per look."""

    remaining_ms: list[int]

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms.pop(0) if len(self.remaining_ms) > 1 else self.remaining_ms[0]


def test_with_too_little_time_left_a_message_goes_back_untouched_instead_of_half_sent() -> None:
    # 7 s a call, 6 calls a message and one for the back-off: 49 s are needed to start one.
    sender = fake_sender(longest_call_seconds=7)
    notifications = notifications_for(booking(), WEBER, in_app=False)

    response = sender.handle(sqs_event(notifications), _Clock([48_999]))  # type: ignore[arg-type]

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}
    assert sender.sms.outbox == [] and sender.email.outbox == [] and sender.parking.parked == []
    assert [count for _, count in sender.in_flight.postponed] == [1, 1]  # back soon, not in 6 min


def test_the_time_left_is_checked_before_each_message() -> None:
    sender = fake_sender(longest_call_seconds=7)
    sms, email = notifications_for(booking(), WEBER, in_app=False)
    other = notifications_for(booking("apt-2002"), WEBER, in_app=False)[1]

    # Enough for the first message, then no more.
    response = sender.handle(sqs_event([sms, email, other]), _Clock([60_000, 30_000]))  # type: ignore[arg-type]

    assert [to for to, _ in sender.sms.outbox] == ["+4915123456789"]
    assert sender.email.outbox == []
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}


def test_out_of_time_on_the_last_receive_is_handed_back_not_parked() -> None:
    sender = fake_sender(longest_call_seconds=7, max_receives=10)
    (sms,) = notifications_for(booking(), WEBER.model_copy(update={"alert_email": None}), in_app=False)
    event = sqs_event([sms])
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "10"

    response = sender.handle(event, _Clock([1_000]))  # type: ignore[arg-type]

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert sender.parking.parked == []


# ------------------------------------------------------------------------------------------------
# An address that breaks the contract, on the real SES adapter
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "address", ["praxis.weber@example.com\r\nBcc: evil@example.com", "praxis.weber at example.com"]
)
def test_an_email_to_an_address_ses_cannot_take_is_parked_with_a_reason_not_retried(
    sender: AlertSender, address: str
) -> None:
    ses = client("sesv2")
    ses.create_email_identity(EmailIdentity="alerts@example.com")
    real_ses = dataclasses.replace(
        sender, email=EmailGateway(ses, "alerts@example.com", None), max_receives=5
    )
    (mail,) = notifications_for(booking(), WEBER.model_copy(update={"alert_mobile": None}), in_app=False)
    # Written around the settings API's checks, straight into the queue.
    body = json.loads(mail.model_dump_json())
    body["to"] = address

    response = real_ses.handle(sqs_event([mail], bodies=[json.dumps(body)]), None)

    assert response == {"batchItemFailures": []}  # not handed back: it would fail again each time
    (parked,) = real_ses.parking.parked  # type: ignore[attr-defined]
    assert parked["reason"].startswith("body.to: ")
    assert "example.com" not in parked["reason"]
    assert ses_backends["123456789012"]["eu-central-1"].sent_messages == []
