"""One bad write never holds back the writes behind it.

Each case is a write that a review found stalling its shard for an hour: the record raised,
the batch retried until MaximumRecordAgeInSeconds, and the good records behind it went to the
on-failure queue with it. Now the bad record is parked with a reason naming the field, and the
booking behind it is queued in the same invocation.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from typing import Any

import pytest

import practitioner_alerts.detector as detector_module
from practitioner_alerts.detector import AlertDetector
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import TransientError
from tests.conftest import load_event
from tests.fakes import FakeParkingLot, FakeQueue, FakeSettings

WEBER = CalendarSettings(
    calendar_id="cal-dr-weber", alert_email="praxis.weber@example.com", alert_mobile="+4915123456789"
).with_contacts_verified()


def detector(settings: FakeSettings | None = None) -> AlertDetector:
    return AlertDetector(
        settings=settings or FakeSettings({WEBER.calendar_id: WEBER}),
        queue=FakeQueue(),
        parking=FakeParkingLot(),
        window=timedelta(hours=24),
        in_app_feed=True,
    )


def booking(sequence: int, appointment_id: str, **new_image: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(load_event("stream-online-booking.json")["Records"][0])
    record["eventID"] = f"ev-{sequence}"
    record["dynamodb"]["SequenceNumber"] = str(sequence)
    record["dynamodb"]["Keys"]["appointment_id"] = {"S": appointment_id}
    record["dynamodb"]["NewImage"]["appointment_id"] = {"S": appointment_id}
    record["dynamodb"]["NewImage"].update(new_image)
    return record


POISON = {
    "start in year 9999": ({"starts_at": {"S": "9999-12-31T23:00:00-12:00"}}, "NewImage.starts_at"),
    "change in year 1": ({"changed_at": {"S": "0001-01-01T00:00:00+14:00"}}, "NewImage.changed_at"),
    "250-character calendar id": ({"calendar_id": {"S": "c" * 250}}, "NewImage.calendar_id"),
    "calendar id with a space": ({"calendar_id": {"S": "cal dr-weber"}}, "NewImage.calendar_id"),
    "380 KB visit motive": ({"visit_motive": {"S": "x" * 380_000}}, "NewImage.visit_motive"),
    "10,000-character name": ({"patient_last_name": {"S": "M" * 10_000}}, "NewImage.patient_last_name"),
    "number where a name belongs": ({"patient_first_name": {"N": "7"}}, "NewImage.patient_first_name"),
    "number beyond DynamoDB's range": ({"version": {"N": "1E+999999999"}}, "dynamodb: images"),
}


@pytest.mark.parametrize("new_image, field", POISON.values(), ids=POISON.keys())
def test_a_bad_write_is_parked_naming_its_field_and_the_booking_behind_it_is_queued(
    new_image: dict[str, Any], field: str
) -> None:
    alerts = detector(FakeSettings({WEBER.calendar_id: WEBER}))
    event = {"Records": [booking(1, "apt-bad", **new_image), booking(2, "apt-good")]}

    response = alerts.handle(event, None)

    assert response == {"batchItemFailures": []}
    (parked,) = alerts.parking.parked
    assert parked["payload"]["eventID"] == "ev-1"
    assert parked["reason"].startswith(field)
    assert {n.alert.appointment_id for n in alerts.queue.sent} == {"apt-good"}


def test_an_error_nobody_foresaw_parks_only_its_record_and_names_its_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_decide = detector_module.decide

    def decide_breaking_on_one(change: Any, window: timedelta) -> Any:
        if change.appointment_id == "apt-bad":
            raise OverflowError("date value out of range")
        return real_decide(change, window)

    monkeypatch.setattr(detector_module, "decide", decide_breaking_on_one)
    alerts = detector()

    response = alerts.handle({"Records": [booking(1, "apt-bad"), booking(2, "apt-good")]}, None)

    assert response == {"batchItemFailures": []}
    assert [p["reason"] for p in alerts.parking.parked] == ["unreadable_record: OverflowError"]
    assert {n.alert.appointment_id for n in alerts.queue.sent} == {"apt-good"}


def test_a_refused_calendar_id_costs_no_settings_read_for_the_others() -> None:
    settings = FakeSettings({WEBER.calendar_id: WEBER})
    alerts = detector(settings)

    alerts.handle(
        {"Records": [booking(1, "apt-bad", calendar_id={"S": "c" * 100_000}), booking(2, "ok")]}, None
    )

    assert settings.reads == [{"cal-dr-weber"}]


def test_a_lone_record_whose_settings_read_is_throttled_is_a_partial_response_not_an_error() -> None:
    alerts = detector(FakeSettings(failure=TransientError("dynamodb.BatchGetItem: ThrottlingException")))

    response = alerts.handle({"Records": [booking(1, "apt-1")]}, None)

    assert response == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert alerts.parking.parked == [] and alerts.queue.sent == []


class _Remaining:
    def __init__(self, milliseconds: int) -> None:
        self.milliseconds = milliseconds

    def get_remaining_time_in_millis(self) -> int:
        return self.milliseconds


def test_with_too_little_time_left_for_another_request_the_rest_of_the_batch_comes_again() -> None:
    # 7 s a call: a queue request and a parking request need 14 s; the first request of an
    # invocation always goes, so that every invocation gets somewhere.
    alerts = AlertDetector(
        settings=FakeSettings({WEBER.calendar_id: WEBER}),
        queue=FakeQueue(),
        parking=FakeParkingLot(),
        window=timedelta(hours=24),
        in_app_feed=True,
        longest_call_seconds=7,
    )
    event = {"Records": [booking(1, "apt-1"), booking(2, "apt-bad", starts_at={"S": "9999-12-31T23:00:00Z"})]}

    response = alerts.handle(event, _Remaining(13_999))  # type: ignore[arg-type]

    # apt-1 was queued; parking the bad record would need another request: it comes again.
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert {n.alert.appointment_id for n in alerts.queue.sent} == {"apt-1"}
    assert alerts.parking.parked == []
    assert alerts.handle(event, _Remaining(14_000)) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert len(alerts.parking.parked) == 1


def _parked_reasons(lambda_detector: AlertDetector) -> list[str]:
    assert isinstance(lambda_detector.parking, FakeParkingLot)
    return [p["reason"] for p in lambda_detector.parking.parked]


@pytest.mark.parametrize(
    ("image", "value"),
    [("Keys", {"B": "AP8="}), ("OldImage", {"B": "AP8="}), ("NewImage", {"BS": ["AP8="]})],
)
def test_a_binary_value_anywhere_in_the_record_parks_it_naming_the_attribute(
    image: str, value: dict[str, Any]
) -> None:
    record = booking(1, "apt-1")
    record["eventName"] = "MODIFY"
    record["dynamodb"]["OldImage"] = dict(record["dynamodb"]["NewImage"])
    record["dynamodb"][image]["blob"] = value
    lambda_detector = detector()
    lambda_detector.handle({"Records": [record]}, None)
    assert _parked_reasons(lambda_detector) == ["blob: a Binary value where the contract has text"]


def test_a_binary_attribute_with_a_long_name_is_named_by_its_first_64_characters() -> None:
    record = booking(1, "apt-1", **{"n" * 100: {"B": "AP8="}})
    lambda_detector = detector()
    lambda_detector.handle({"Records": [record]}, None)
    assert _parked_reasons(lambda_detector) == [f"{'n' * 64}: a Binary value where the contract has text"]


def test_a_record_without_its_dynamodb_part_is_parked_saying_so() -> None:
    record = booking(1, "apt-1")
    del record["dynamodb"]
    lambda_detector = detector()
    lambda_detector.handle({"Records": [record]}, None)
    assert _parked_reasons(lambda_detector) == ["dynamodb: missing"]


def test_images_that_are_not_typed_json_are_parked_naming_the_error() -> None:
    record = booking(1, "apt-1")
    record["dynamodb"]["NewImage"] = {"starts_at": "2027-09-09T12:00:00+02:00"}  # untyped
    lambda_detector = detector()
    lambda_detector.handle({"Records": [record]}, None)
    (reason,) = _parked_reasons(lambda_detector)
    assert re.fullmatch(
        r"dynamodb: images are not DynamoDB-typed JSON \((TypeError|ValueError|AttributeError)\)", reason
    )


class _AlmostOut:
    def get_remaining_time_in_millis(self) -> int:
        return 1


def test_without_a_budget_per_call_every_request_goes_however_little_time_is_left() -> None:
    lambda_detector = detector()  # no longest_call_seconds: no budget to keep to
    event = {"Records": [booking(1, "apt-bad", calendar_id={"S": "cal dr-weber"}), booking(2, "apt-good")]}
    assert lambda_detector.handle(event, _AlmostOut()) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert isinstance(lambda_detector.queue, FakeQueue)
    assert {n.alert.appointment_id for n in lambda_detector.queue.sent} == {"apt-good"}
    assert len(_parked_reasons(lambda_detector)) == 1
