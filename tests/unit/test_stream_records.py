"""Reading stream records into appointment changes: classification, TTL records, bad input."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from practitioner_alerts.domain.appointments import read_appointment, read_change
from practitioner_alerts.domain.rule import ChangeKind, Reason, classify, decide
from practitioner_alerts.errors import MalformedRecord
from tests.conftest import load_event


def change_from(record: dict[str, Any]):  # type: ignore[no-untyped-def]
    wrapped = DynamoDBRecord(record)
    stream = wrapped.dynamodb
    assert stream is not None
    return read_change(
        event_id=wrapped.event_id or "",
        event_name=record["eventName"],
        keys=stream.keys,
        old_image=stream.old_image or None,
        new_image=stream.new_image or None,
        principal_id=wrapped.user_identity.get("principalId"),
    )


@pytest.mark.parametrize(
    ("event_file", "kind", "alert", "reason"),
    [
        ("stream-online-booking.json", ChangeKind.BOOKED, True, Reason.ONLINE_BOOKING),
        ("stream-late-cancellation.json", ChangeKind.CANCELLED, True, Reason.LATE_CANCELLATION),
        ("stream-early-cancellation.json", ChangeKind.CANCELLED, False, Reason.EARLY_CANCELLATION),
        ("stream-late-reschedule.json", ChangeKind.RESCHEDULED, True, Reason.LATE_RESCHEDULE),
        ("stream-early-reschedule.json", ChangeKind.RESCHEDULED, False, Reason.EARLY_RESCHEDULE),
        (
            "stream-reschedule-into-short-notice.json",
            ChangeKind.RESCHEDULED,
            True,
            Reason.RESCHEDULED_INTO_SHORT_NOTICE,
        ),
        ("stream-practice-change.json", ChangeKind.CANCELLED, False, Reason.CHANGED_BY_PRACTICE),
        ("stream-ttl-removal.json", ChangeKind.REMOVED, False, Reason.TTL_EXPIRY),
    ],
)
def test_sample_events_classify_as_their_names_say(
    event_file: str, kind: ChangeKind, alert: bool, reason: Reason
) -> None:
    (record,) = load_event(event_file)["Records"]
    change = change_from(record)
    assert (change.event_id, change.appointment_id) == (record["eventID"], "apt-1001")
    assert classify(change) is kind
    decision = decide(change)
    assert (decision.alert, decision.reason) == (alert, reason)


def test_remove_without_the_ttl_principal_is_a_hard_delete() -> None:
    (record,) = load_event("stream-ttl-removal.json")["Records"]
    del record["userIdentity"]
    change = change_from(record)
    assert not change.removed_by_ttl
    assert decide(change).reason is Reason.DELETED


@pytest.mark.parametrize(
    "identity",
    [
        # Another AWS service's principal, an IAM user's id, and DynamoDB's name in another case:
        # only DynamoDB's own TTL process deletes with exactly dynamodb.amazonaws.com.
        {"type": "Service", "principalId": "lambda.amazonaws.com"},
        {"type": "Service", "principalId": "AIDAEXAMPLEUSERID"},
        {"type": "Service", "principalId": "DynamoDB.amazonaws.com"},
    ],
)
def test_remove_by_any_other_principal_is_a_hard_delete_not_a_ttl_expiry(identity: dict[str, str]) -> None:
    (record,) = load_event("stream-ttl-removal.json")["Records"]
    record["userIdentity"] = identity
    change = change_from(record)
    assert not change.removed_by_ttl
    assert decide(change).reason is Reason.DELETED


def test_remove_with_a_malformed_old_image_is_still_just_silent() -> None:
    (record,) = load_event("stream-ttl-removal.json")["Records"]
    record["dynamodb"]["OldImage"]["starts_at"] = {"S": "tomorrow"}
    assert decide(change_from(record)).reason is Reason.TTL_EXPIRY


def _booking() -> dict[str, Any]:
    return copy.deepcopy(load_event("stream-online-booking.json")["Records"][0])


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda image: image.pop("starts_at"), "NewImage.starts_at: missing"),
        (lambda image: image.update(starts_at={"S": "2027-09-09T12:00:00"}), "NewImage.starts_at"),
        (lambda image: image.update(starts_at={"N": "1820000000"}), "NewImage.starts_at"),
        (lambda image: image.update(status={"S": "deleted"}), "NewImage.status"),
        (lambda image: image.update(changed_by={"S": "robot"}), "NewImage.changed_by"),
        (lambda image: image.pop("calendar_id"), "NewImage.calendar_id: missing"),
        (lambda image: image.pop("changed_at"), "NewImage.changed_at: missing"),
    ],
)
def test_malformed_record_reason_names_the_bad_field(mutate: Any, named: str) -> None:
    record = _booking()
    mutate(record["dynamodb"]["NewImage"])
    with pytest.raises(MalformedRecord) as caught:
        change_from(record)
    assert named in caught.value.reason


def test_naive_timestamp_is_refused_with_an_example_of_the_right_form() -> None:
    record = _booking()
    record["dynamodb"]["NewImage"]["starts_at"] = {"N": "1820000000"}
    with pytest.raises(MalformedRecord) as caught:
        change_from(record)
    assert "2027-09-09T12:00:00+02:00" in caught.value.reason


def reason_for(record: dict[str, Any]) -> str:
    with pytest.raises(MalformedRecord) as caught:
        change_from(record)
    return caught.value.reason


@pytest.mark.parametrize(
    ("event_name", "said"), [(None, "missing"), ("", "missing"), ("UPSERT", "got 'UPSERT'")]
)
def test_an_event_name_streams_never_write_is_refused_saying_what_came(
    event_name: str | None, said: str
) -> None:
    record = _booking()
    record["eventName"] = event_name
    assert reason_for(record) == (
        f"eventName: must be INSERT, MODIFY or REMOVE, as DynamoDB Streams writes it ({said})"
    )


@pytest.mark.parametrize("image", ["NewImage", "OldImage"])
def test_modify_without_an_image_points_at_the_stream_view_type(image: str) -> None:
    (record,) = load_event("stream-late-cancellation.json")["Records"]
    del record["dynamodb"][image]
    assert reason_for(record) == f"{image}: missing; the stream must use StreamViewType NEW_AND_OLD_IMAGES"


def test_an_insert_without_a_new_image_points_at_the_stream_view_type() -> None:
    record = _booking()
    del record["dynamodb"]["NewImage"]
    assert reason_for(record).startswith("NewImage: missing; the stream must use StreamViewType")


def test_a_bad_old_image_is_named_as_the_old_image() -> None:
    (record,) = load_event("stream-late-cancellation.json")["Records"]
    record["dynamodb"]["OldImage"]["starts_at"] = {"S": "tomorrow"}
    assert reason_for(record).startswith("OldImage.starts_at: ")


def test_without_keys_the_appointment_id_comes_from_the_images() -> None:
    record = _booking()
    del record["dynamodb"]["Keys"]
    assert change_from(record).appointment_id == "apt-1001"
    (removal,) = load_event("stream-ttl-removal.json")["Records"]
    del removal["dynamodb"]["Keys"]
    assert change_from(removal).appointment_id == removal["dynamodb"]["OldImage"]["appointment_id"]["S"]


def test_moving_an_appointment_to_another_calendar_is_refused() -> None:
    (record,) = load_event("stream-late-cancellation.json")["Records"]
    record["dynamodb"]["NewImage"]["calendar_id"] = {"S": "cal-other"}
    assert reason_for(record) == (
        "NewImage.calendar_id: an appointment never changes calendar; "
        "write a cancellation and a new booking instead"
    )


IMAGE: dict[str, Any] = {
    "appointment_id": "apt-1001",
    "calendar_id": "cal-dr-weber",
    "starts_at": "2027-09-09T12:00:00+02:00",
    "status": "booked",
    "changed_at": "2027-09-01T18:30:00+02:00",
    "changed_by": "patient",
}
_ID_RULE = "must be 1-128 characters, each an ASCII letter, digit or punctuation mark (no spaces)"
_OFFSET = "must be an ISO-8601 string with an offset, e.g. 2027-09-09T12:00:00+02:00"
_YEARS = "must fall within the years 2000-2100, e.g. 2027-09-09T12:00:00+02:00"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"starts_at": "2027-09-09T12:00:00"}, f"NewImage.starts_at: {_OFFSET} (this one has no offset)"),
        ({"starts_at": "tomorrow"}, f"NewImage.starts_at: {_OFFSET} (this one is not a date and time)"),
        ({"starts_at": Decimal(1820000000)}, f"NewImage.starts_at: {_OFFSET}"),
        ({"starts_at": "9999-12-31T00:00:00+00:00"}, f"NewImage.starts_at: {_YEARS}"),
        ({"starts_at": "1999-12-31T23:00:00+00:00"}, f"NewImage.starts_at: {_YEARS}"),
        (
            {"changed_at": "2101-01-01T00:00:00+00:00"},
            "NewImage.changed_at: must fall within the years 2000-2100, e.g. 2027-09-08T13:00:00+02:00",
        ),
        ({"status": "deleted"}, "NewImage.status: must be 'booked' or 'cancelled', e.g. booked"),
        (
            {"patient_first_name": Decimal(5)},
            "NewImage.patient_first_name: must be a string (DynamoDB type S), e.g. Maria",
        ),
        (
            {"visit_motive": "x" * 501},
            "NewImage.visit_motive: must be at most 500 characters, e.g. Erstuntersuchung",
        ),
        ({"version": Decimal(-1)}, "NewImage.version: must be a whole number ≥ 0 (DynamoDB type N), e.g. 3"),
        (
            {"expires_at": "soon"},
            "NewImage.expires_at: must be a whole number ≥ 0 (DynamoDB type N), e.g. 1820000000",
        ),
        ({"appointment_id": "apt 1"}, f"NewImage.appointment_id: {_ID_RULE}, e.g. apt-1001"),
        ({"calendar_id": "#"}, f"NewImage.calendar_id: {_ID_RULE} other than '#', e.g. cal-dr-weber"),
    ],
)
def test_each_bad_field_is_refused_in_the_contracts_words_with_a_valid_example(
    bad: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedRecord) as caught:
        read_appointment("NewImage", {**IMAGE, **bad})
    assert caught.value.reason == reason


@pytest.mark.parametrize("year", ["2000-01-01T00:00:00+00:00", "2100-12-31T23:59:59+00:00"])
def test_the_first_and_the_last_plausible_year_are_read(year: str) -> None:
    assert read_appointment("NewImage", {**IMAGE, "starts_at": year}).starts_at.year in (2000, 2100)


def test_a_record_without_any_appointment_id_is_refused_naming_the_key() -> None:
    record = _booking()
    del record["dynamodb"]["Keys"]
    del record["dynamodb"]["NewImage"]["appointment_id"]
    assert reason_for(record) == (
        "Keys.appointment_id: missing; it is the table's key as a string (DynamoDB type S), e.g. apt-1001"
    )
