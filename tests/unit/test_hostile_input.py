"""Hypothesis throws malformed and hostile records at the detector and sender.

Whatever arrives, no exception escapes a handler unreported and a bad record never blocks the
batch: each record is either decided or parked with a reason.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from practitioner_alerts.detector import AlertDetector
from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.rendering import render_email, render_sms
from practitioner_alerts.rendering.sms import count_segments
from tests.fakes import (
    FakeParkingLot,
    FakeQueue,
    FakeSettings,
    fake_sender,
)

WEBER = CalendarSettings(
    calendar_id="cal-1", alert_email="p@example.com", alert_mobile="+4915123456789"
).with_contacts_verified()

text = st.text(min_size=0, max_size=40)
hostile_text = st.one_of(
    text,
    st.sampled_from(
        ["<script>alert(1)</script>", "\u202eevil", "Müller\r\nBcc: x@example.com", "👩‍⚕️" * 30, ""]
    ),
)
timestamps = st.one_of(
    st.sampled_from(
        ["2027-09-09T12:00:00+02:00", "2027-09-08T13:00:00Z", "2027-09-09T12:00:00", "yesterday", ""]
    ),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)
attribute_value = st.one_of(
    hostile_text.map(lambda v: {"S": v}),
    st.integers().map(lambda v: {"N": str(v)}),
    st.just({"NULL": True}),
    st.just({"BOOL": True}),
    st.just({"L": []}),
    st.just({"X": "not a type"}),
)


@st.composite
def image(draw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "appointment_id": {"S": draw(st.sampled_from(["apt-1", "apt-2", ""]))},
        "calendar_id": {"S": draw(st.sampled_from(["cal-1", "cal-2"]))},
        "starts_at": {"S": draw(timestamps)},
        "status": {"S": draw(st.sampled_from(["booked", "cancelled", "gone"]))},
        "changed_at": {"S": draw(timestamps)},
        "changed_by": {"S": draw(st.sampled_from(["patient", "practice", "system", "robot"]))},
        "patient_first_name": {"S": draw(hostile_text)},
        "patient_last_name": {"S": draw(hostile_text)},
    }
    for key in draw(st.lists(st.sampled_from(sorted(values)), max_size=3)):
        if draw(st.booleans()):
            values.pop(key, None)
        else:
            values[key] = draw(attribute_value)
    return values


@st.composite
def stream_record(draw: Any, sequence: int) -> dict[str, Any]:
    new, old = draw(st.one_of(st.none(), image())), draw(st.one_of(st.none(), image()))
    body: dict[str, Any] = {"SequenceNumber": str(sequence), "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if draw(st.booleans()):
        body["Keys"] = {"appointment_id": (new or old or {}).get("appointment_id", {"S": "apt-1"})}
    if new is not None:
        body["NewImage"] = new
    if old is not None:
        body["OldImage"] = old
    record: dict[str, Any] = {
        "eventID": f"e-{sequence}",
        "eventName": draw(st.sampled_from(["INSERT", "MODIFY", "REMOVE", "UPSERT"])),
        "eventSource": "aws:dynamodb",
        "dynamodb": body,
    }
    if draw(st.booleans()):
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def _new_image_id(record: dict[str, Any]) -> str | None:
    value = record["dynamodb"].get("NewImage", {}).get("appointment_id")
    return str(value["S"]).strip() if isinstance(value, dict) and "S" in value else None


@st.composite
def stream_batch(draw: Any) -> dict[str, Any]:
    size = draw(st.integers(min_value=1, max_value=6))
    return {"Records": [draw(stream_record(index + 1)) for index in range(size)]}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream_batch())
def test_no_stream_record_blocks_its_shard(event: dict[str, Any]) -> None:
    detector = AlertDetector(
        settings=FakeSettings({"cal-1": WEBER}),
        queue=FakeQueue(),
        parking=FakeParkingLot(),
        window=timedelta(hours=24),
        in_app_feed=True,
    )
    response = detector.handle(event, None)
    assert response == {"batchItemFailures": []}
    for parked in detector.parking.parked:
        assert parked["reason"]
        # The record as it came, so a redrive replays it; and each record at most once.
        assert parked["payload"] in event["Records"]
    parked_ids = [p["payload"]["eventID"] for p in detector.parking.parked]
    assert len(parked_ids) == len(set(parked_ids))
    # Only appointments a record's new image names can alert (fuzzed ids such as "0" included).
    named = {
        str(value["S"]).strip()
        for record in event["Records"]
        if isinstance(value := record["dynamodb"].get("NewImage", {}).get("appointment_id"), dict)
        and "S" in value
    }
    queued = {n.alert.appointment_id for n in detector.queue.sent}
    assert queued <= named
    # A parked record queued nothing: a redrive would otherwise alert twice.
    ids = [_new_image_id(record) for record in event["Records"]]
    for parked in detector.parking.parked:
        own = _new_image_id(parked["payload"])
        if own is not None and ids.count(own) == 1:
            assert own not in queued


@settings(max_examples=100, deadline=None)
@given(hostile_text, hostile_text)
def test_hostile_names_never_break_or_inject_into_messages(first: str, last: str) -> None:
    alert = AlertContent.model_validate(
        {
            "kind": "booked",
            "calendar_id": "cal-1",
            "appointment_id": "apt-1",
            "starts_at": "2027-09-09T12:00:00+02:00",
            "changed_at": "2027-09-01T12:00:00+02:00",
            "patient_first_name": first,
            "patient_last_name": last,
            "practitioner_name": "Dr. <b>Weber</b>",
            "time_zone": "Europe/Berlin",
            "locale": "de",
        }
    )
    sms = render_sms(alert)
    plain = render_sms(alert.model_copy(update={"patient_first_name": "Eva", "patient_last_name": "Roth"}))
    assert count_segments(sms).segments <= 2
    # A name may not add lines or carriage returns to the SMS layout.
    assert "\r" not in sms and sms.count("\n") == plain.count("\n")
    mail = render_email(alert)
    assert "\r" not in mail.subject and "\n" not in mail.subject
    assert "<script>" not in mail.html and "<b>Weber</b>" not in mail.html


queue_body = st.one_of(
    st.text(max_size=200),
    st.builds(
        json.dumps, st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=20), max_size=5)
    ),
    st.builds(
        lambda channel, to, first, last, locale: json.dumps(
            {
                # Distinct content, distinct id: the same id twice is one alert, delivered once.
                "notification_id": hashlib.sha256(
                    repr((channel, to, first, last, locale)).encode()
                ).hexdigest(),
                "channel": channel,
                "to": to,
                "alert": {
                    "kind": "booked",
                    "calendar_id": "cal-1",
                    "appointment_id": "apt-1",
                    "starts_at": "2027-09-09T12:00:00+02:00",
                    "changed_at": "2027-09-01T12:00:00+02:00",
                    "patient_first_name": first,
                    "patient_last_name": last,
                    "time_zone": "Europe/Berlin",
                    "locale": locale,
                },
            }
        ),
        st.sampled_from(["sms", "email", "in_app", "fax"]),
        st.one_of(st.none(), st.just("+4915123456789"), st.just("p@example.com"), hostile_text),
        hostile_text,
        hostile_text,
        st.sampled_from(["de", "en", "fr", "it", "xx"]),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(queue_body, min_size=1, max_size=5))
def test_no_queue_message_blocks_the_sender(bodies: list[str]) -> None:
    sender = fake_sender(in_flight=None)
    event = {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": f"g-{index}"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for index, body in enumerate(bodies)
        ]
    }
    assert sender.handle(event, None) == {"batchItemFailures": []}
    delivered = len(sender.sms.outbox) + len(sender.email.outbox) + len(sender.feed.entries)
    parked = sender.parking.parked
    assert all(p["reason"] for p in parked)
    # Every message either went out or was parked with its reason; none vanished.
    assert delivered + len(parked) >= len({body for body in bodies})
    for _, text in sender.sms.outbox:
        assert count_segments(text).segments <= 2
