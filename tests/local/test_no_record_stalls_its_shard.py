"""The real detector behind the local stream trigger, with the template's mapping: batches that
mix extreme writes with good bookings. In the same invocation every good booking is queued and
every bad write is parked with a reason; nothing is retried, so nothing waits behind it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.triggers import StreamPoller
from tests.local.conftest import booking_item, sample_calendars
from tests.unit.test_hostile_input import stream_record

_sequence = itertools.count(1)
_appointment = itertools.count(1)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    with LocalRuntime.embedded() as runtime:
        runtime.put_calendars(sample_calendars())
        yield runtime


def _record(new_image: dict[str, Any]) -> dict[str, Any]:
    sequence = next(_sequence)
    return {
        "eventID": f"ev-{sequence}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-central-1",
        "dynamodb": {
            "Keys": {"appointment_id": new_image.get("appointment_id", {"S": "apt-x"})},
            "NewImage": new_image,
            "SequenceNumber": str(sequence).rjust(21, "0"),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def good_booking() -> dict[str, Any]:
    return _record(booking_item(f"apt-good-{next(_appointment)}"))


_BAD_IDS = [{"S": "c" * 250}, {"S": "apt 1\u202e"}, {"S": "👩‍⚕️"}, {"S": ""}, {"N": "12"}, {"NULL": True}]
_BAD_TIMES = [
    {"S": "9999-12-31T23:00:00-12:00"},
    {"S": "0001-01-01T00:00:00+14:00"},
    {"S": "2027-09-09T12:00:00"},
    {"S": "yesterday"},
    {"N": "1789000000"},
]
_TOO_LONG = st.text(min_size=101, max_size=300).filter(lambda v: len(v.strip()) > 100).map(lambda v: {"S": v})
_NOT_TEXT = st.sampled_from([{"N": "12"}, {"M": {"S": {"S": "nested"}}}, {"L": [{"S": "a"}]}, {"BOOL": True}])
# For each field of the contract, values it refuses (see docs/appointments-contract.md).
REFUSED = {
    "appointment_id": st.sampled_from(_BAD_IDS),
    "calendar_id": st.sampled_from([*_BAD_IDS, {"S": "cal#1"}]),
    "starts_at": st.sampled_from(_BAD_TIMES),
    "changed_at": st.sampled_from(_BAD_TIMES),
    "status": st.sampled_from([{"S": "gone"}, {"S": ""}, {"N": "1"}]),
    "changed_by": st.sampled_from([{"S": "robot"}, {"NULL": True}]),
    "patient_first_name": st.one_of(_TOO_LONG, _NOT_TEXT),
    "patient_last_name": st.one_of(_TOO_LONG, _NOT_TEXT, st.just({"S": "👩‍⚕️" * 5_000})),
    "visit_motive": st.one_of(st.just({"S": "x" * 380_000}), _NOT_TEXT),
    "version": st.sampled_from([{"N": "1E+999999999"}, {"N": "-1"}, {"S": "one"}]),
}


@st.composite
def bad_write(draw: Any) -> dict[str, Any]:
    """A booking with one field the contract refuses, and sometimes no new image at all."""
    item = booking_item(f"apt-bad-{next(_appointment)}")
    field = draw(st.sampled_from(sorted(REFUSED)))
    item[field] = draw(REFUSED[field])
    record = _record(item)
    if draw(st.booleans()) and field != "appointment_id":
        del record["dynamodb"]["NewImage"]
    return record


@st.composite
def mixed_batch(draw: Any) -> list[tuple[str, dict[str, Any]]]:
    kinds = draw(st.lists(st.sampled_from(["good", "bad", "fuzz"]), min_size=1, max_size=8))
    batch: list[tuple[str, dict[str, Any]]] = []
    for kind in kinds:
        if kind == "good":
            batch.append((kind, good_booking()))
        elif kind == "bad":
            batch.append((kind, draw(bad_write())))
        else:
            fuzzed = draw(stream_record(next(_sequence)))
            fuzzed["dynamodb"]["SequenceNumber"] = str(next(_sequence)).rjust(21, "0")
            fuzzed["eventID"] = f"ev-fuzz-{fuzzed['dynamodb']['SequenceNumber']}"
            batch.append((kind, fuzzed))
    return batch


def _take_all(local: LocalRuntime, logical_id: str) -> list[dict[str, Any]]:
    sqs = local.clients("sqs")
    url = local.stack.attribute(logical_id, "QueueUrl")
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _appointments_stream(local: LocalRuntime) -> StreamPoller:
    (poller,) = [p for p in local.stream_pollers if p.config.table == "AppointmentsTable"]
    return poller


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(batch=mixed_batch())
def test_every_good_booking_is_queued_and_every_bad_write_parked_in_the_same_invocation(
    local: LocalRuntime, batch: list[tuple[str, dict[str, Any]]]
) -> None:
    poller = _appointments_stream(local)
    invocations_before = len(poller.invocations)

    local.replay({"Records": [record for _, record in batch]})
    poller.poll(drain=True)

    assert len(poller.invocations) == invocations_before + 1
    assert poller.idle, "a record of the batch is to be retried"
    queued = _take_all(local, "NotificationQueue")
    parked = {
        body["payload"]["eventID"]: body["reason"] for body in _take_all(local, "StreamDeadLetterQueue")
    }
    for kind, record in batch:
        if kind == "good":
            appointment_id = record["dynamodb"]["NewImage"]["appointment_id"]["S"]
            channels = sorted(n["channel"] for n in queued if n["alert"]["appointment_id"] == appointment_id)
            assert channels == ["email", "in_app", "sms"], appointment_id
        elif kind == "bad":
            assert parked.get(record["eventID"]), f"{json.dumps(record)[:500]} neither parked nor retried"
    assert all(parked.values())
