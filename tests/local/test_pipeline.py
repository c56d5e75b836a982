"""The whole pipeline on the embedded stack: real detector and sender, emulated triggers."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

import practitioner_alerts_local.runtime as runtime_module
from practitioner_alerts_local.runtime import DEDUPLICATION_INTERVAL_SECONDS, LocalRuntime
from tests.conftest import load_event
from tests.local.conftest import booking_item, stream_event, write_bookings


@pytest.fixture
def runtime(e2e_runtime: LocalRuntime) -> LocalRuntime:
    """Every pipeline test runs on moto and on DynamoDB Local (see ``e2e_runtime``)."""
    return e2e_runtime


WEBER_MOBILE = "+4915123456789"
WEBER_EMAIL = "praxis.weber@example.com"


def sent_to(runtime: LocalRuntime, channel: str) -> list[dict[str, Any]]:
    return [m.as_json() for m in runtime.report().sent if m.channel == channel]


def test_replaying_the_same_event_twice_sends_each_message_once(runtime: LocalRuntime) -> None:
    booking = load_event("stream-online-booking.json")

    runtime.replay(booking)
    runtime.drain()
    runtime.replay(booking)  # a redelivery of the same batch
    runtime.drain()

    report = runtime.report()
    assert [d["reason"] for d in report.decisions] == ["online_booking", "online_booking"]
    assert [(m.channel, m.to, m.appointment_id) for m in report.sent] == [
        ("sms", WEBER_MOBILE, "apt-1001"),
        ("email", WEBER_EMAIL, "apt-1001"),
    ]


def test_a_late_cancellation_written_after_its_booking_reaches_the_practitioner_after_it(
    runtime: LocalRuntime,
) -> None:
    dynamodb = runtime.clients("dynamodb")
    table = runtime.appointments_table()
    dynamodb.put_item(TableName=table, Item=booking_item("apt-1001"))
    dynamodb.update_item(
        TableName=table,
        Key={"appointment_id": {"S": "apt-1001"}},
        UpdateExpression="SET #s = :cancelled, changed_at = :at",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":cancelled": {"S": "cancelled"},
            ":at": {"S": "2027-09-08T13:00:00+02:00"},
        },
    )

    runtime.drain()  # both records reach the detector in one batch, both alerts share a FIFO group

    decisions = runtime.report().decisions
    assert [(d["change"], d["reason"]) for d in decisions] == [
        ("booked", "online_booking"),
        ("cancelled", "late_cancellation"),
    ]
    texts = [m["text"] for m in sent_to(runtime, "sms")]
    assert len(texts) == 2
    assert texts[0].startswith("Neuer Online-Termin") and texts[1].startswith("Kurzfristige Absage")


def test_the_help_articles_reschedule_25_hours_ahead_is_silent(runtime: LocalRuntime) -> None:
    runtime.replay(load_event("stream-early-reschedule.json"))
    runtime.drain()

    (decision,) = runtime.report().decisions
    assert decision == {
        "event_id": "707bda16c181a612602da8e4d58e16be",
        "appointment_id": "apt-1001",
        "change": "rescheduled",
        "alert": False,
        "reason": "early_reschedule",
    }
    assert runtime.report().sent == []


def test_a_malformed_record_is_parked_while_its_neighbours_go_out(runtime: LocalRuntime) -> None:
    good = load_event("stream-online-booking.json")["Records"][0]
    first, broken, last = (copy.deepcopy(good) for _ in range(3))
    for record, appointment_id, sequence in (
        (first, "apt-a", "1"),
        (broken, "apt-b", "2"),
        (last, "apt-c", "3"),
    ):
        record["eventID"] = f"event-{appointment_id}"
        record["dynamodb"]["SequenceNumber"] = sequence
        record["dynamodb"]["Keys"]["appointment_id"]["S"] = appointment_id
        record["dynamodb"]["NewImage"]["appointment_id"]["S"] = appointment_id
    broken["dynamodb"]["NewImage"]["starts_at"]["S"] = "2027-09-09T12:00:00"  # no offset

    runtime.replay(stream_event(first, broken, last))
    runtime.drain()

    report = runtime.report()
    assert [m.appointment_id for m in report.sent if m.channel == "sms"] == ["apt-a", "apt-c"]
    (parked,) = report.dead_letters
    assert parked["source"] == "detector"
    assert parked["reason"].startswith("NewImage.starts_at")
    assert parked["payload"]["eventID"] == "event-apt-b"


def test_ttl_removals_carry_dynamodbs_identity_and_deletions_do_not(runtime: LocalRuntime) -> None:
    now = [1_820_000_000.0]
    runtime.clock = lambda: now[0]
    dynamodb = runtime.clients("dynamodb")
    table = runtime.appointments_table()
    expired = booking_item("apt-old", changed_by="practice")
    dynamodb.put_item(TableName=table, Item={**expired, "expires_at": {"N": str(int(now[0]) + 60)}})
    dynamodb.put_item(TableName=table, Item=booking_item("apt-gone", changed_by="practice"))
    runtime.drain()

    now[0] += 61  # the item's TTL has passed
    dynamodb.delete_item(TableName=table, Key={"appointment_id": {"S": "apt-gone"}})
    runtime.drain()

    reasons = {
        d["appointment_id"]: d["reason"] for d in runtime.report().decisions if d["change"] == "removed"
    }
    assert reasons == {"apt-old": "ttl_expiry", "apt-gone": "deleted"}
    removes = [
        r
        for event in runtime.stream_pollers[0].invocations
        for r in event["Records"]
        if r["eventName"] == "REMOVE"
    ]
    identities = {r["dynamodb"]["Keys"]["appointment_id"]["S"]: r.get("userIdentity") for r in removes}
    assert identities == {
        "apt-old": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "apt-gone": None,
    }


def test_the_queue_sample_events_deliver_through_the_real_sender(runtime: LocalRuntime) -> None:
    sms = runtime.invoke("SenderFunction", load_event("queue-sms.json"))
    email = runtime.invoke("SenderFunction", load_event("queue-email.json"))

    assert sms.error is None and sms.response == {"batchItemFailures": []}
    assert email.error is None and email.response == {"batchItemFailures": []}
    (sent_sms,) = sent_to(runtime, "sms")
    (sent_email,) = sent_to(runtime, "email")
    assert sent_sms["to"] == WEBER_MOBILE and sent_sms["appointment_id"] == "apt-1001"
    assert sent_email["to"] == WEBER_EMAIL and sent_email["appointment_id"] == "apt-1001"
    assert sent_email["subject"] and "<html" in sent_email["html"] and "Maria Müller" in sent_email["text"]


def test_the_queue_sample_events_carry_the_stream_samples_notifications() -> None:
    for name, channel in (("queue-sms.json", "sms"), ("queue-email.json", "email")):
        (record,) = load_event(name)["Records"]
        body = json.loads(record["body"])
        assert body["channel"] == channel and body["alert"]["appointment_id"] == "apt-1001"
        assert body["alert"]["calendar_id"] == "cal-dr-weber"
        assert record["attributes"]["MessageGroupId"] == f"apt-1001#{channel}"
        assert record["attributes"]["MessageDeduplicationId"] == body["notification_id"]


def test_sent_lists_only_what_sns_accepted_and_attributes_nothing_it_cannot_prove(
    runtime: LocalRuntime,
) -> None:
    write_bookings(runtime, "apt-1")
    runtime.drain()
    # Someone publishes an SMS outside the sender: it shows, but belongs to no appointment.
    runtime.clients("sns").publish(PhoneNumber="+4915199999999", Message="hello")
    runtime.drain()

    by_recipient = {m["to"]: m["appointment_id"] for m in sent_to(runtime, "sms")}
    assert by_recipient == {WEBER_MOBILE: "apt-1", "+4915199999999": None}


def test_a_scenario_clock_years_ahead_expires_appointments_but_not_the_pipelines_own_records(
    runtime: LocalRuntime,
) -> None:
    runtime.clock = lambda: 1_900_000_000.0  # 2030: the booking platform's (scenario) time
    runtime.replay(load_event("stream-online-booking.json"))

    runtime.drain()

    # Idempotency records carry real expiry times; sweeping them on 2030's clock would let a
    # redelivery send the alert again.
    idempotency = runtime.clients("dynamodb").scan(TableName=runtime.stack.ref("IdempotencyTable"))
    assert idempotency["Count"] == 2  # sms and e-mail; the feed entry is idempotent by its key


class _FiveMinutesLater:
    """The time module as the local stack's FIFO deduplication sees it, one deduplication
    interval on: SQS no longer recognises a deduplication id it took before."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def time(self) -> float:
        return time.time() + DEDUPLICATION_INTERVAL_SECONDS + 1


def test_a_redelivery_after_the_deduplication_window_is_still_sent_once(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking = load_event("stream-online-booking.json")
    runtime.replay(booking)
    runtime.drain()
    sqs = runtime.clients("sqs")
    queue_url = runtime.stack.attribute("NotificationQueue", "QueueUrl")

    # The same batch, six minutes later (a stream retry after a long outage, or a redrive):
    # SQS takes the same notifications again as new messages, so only the sender's own
    # idempotency stands between them and a second SMS and e-mail.
    monkeypatch.setattr(runtime_module, "time", _FiveMinutesLater())
    runtime.replay(booking)
    for stream in runtime.stream_pollers:
        stream.read_shard()
        while stream.poll(drain=True):
            pass
    waiting = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert waiting["Attributes"]["ApproximateNumberOfMessages"] == "3"  # SMS, e-mail, pop-up again
    runtime.drain()

    assert (
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
        == "0"
    )
    assert [(m.channel, m.to) for m in runtime.report().sent] == [
        ("sms", WEBER_MOBILE),
        ("email", WEBER_EMAIL),
    ]
    assert len(runtime.feed()) == 1
    assert runtime.report().dead_letters == []
