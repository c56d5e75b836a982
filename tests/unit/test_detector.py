"""The detector with in-memory collaborators: what gets queued, parked or retried."""

from __future__ import annotations

import copy
import hashlib
import logging
from datetime import timedelta
from typing import Any

import practitioner_alerts.detector as detector_module
from practitioner_alerts.adapters.dynamodb import InvalidSettings
from practitioner_alerts.detector import AlertDetector
from practitioner_alerts.domain.notifications import message_group
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import PermanentError, TransientError
from tests.conftest import load_event
from tests.fakes import FakeParkingLot, FakeQueue, FakeSettings

WEBER = CalendarSettings(
    calendar_id="cal-dr-weber",
    practitioner_name="Dr. Anna Weber",
    alert_email="praxis.weber@example.com",
    alert_mobile="+4915123456789",
).with_contacts_verified()


def make_detector(
    settings: FakeSettings | None = None, queue: FakeQueue | None = None, *, in_app: bool = True
):  # type: ignore[no-untyped-def]
    return AlertDetector(
        settings=settings or FakeSettings({WEBER.calendar_id: WEBER}),
        queue=queue or FakeQueue(),
        parking=FakeParkingLot(),
        window=timedelta(hours=24),
        in_app_feed=in_app,
    )


def batch(*files: str) -> dict[str, Any]:
    return {"Records": [copy.deepcopy(load_event(f)["Records"][0]) for f in files]}


def booking_for(appointment_id: str, calendar_id: str = "cal-dr-weber", seq: str = "1") -> dict[str, Any]:
    record = copy.deepcopy(load_event("stream-online-booking.json")["Records"][0])
    record["eventID"] = f"ev-{appointment_id}"
    record["dynamodb"]["SequenceNumber"] = seq
    for part in ("Keys", "NewImage"):
        record["dynamodb"][part]["appointment_id"] = {"S": appointment_id}
    record["dynamodb"]["NewImage"]["calendar_id"] = {"S": calendar_id}
    return record


def test_online_booking_queues_one_notification_per_channel() -> None:
    detector = make_detector()
    response = detector.handle(batch("stream-online-booking.json"), None)
    assert response == {"batchItemFailures": []}
    sent = detector.queue.sent
    assert sorted(n.channel for n in sent) == ["email", "in_app", "sms"]
    by_channel = {n.channel: n for n in sent}
    assert by_channel["sms"].to == "+4915123456789"
    assert by_channel["email"].to == "praxis.weber@example.com"
    assert {n.alert.kind for n in sent} == {"booked"}
    assert len({n.notification_id for n in sent}) == 3


def test_the_alert_names_the_patient_the_motive_and_the_practitioner_and_only_the_feed_gets_the_motive() -> (
    None
):
    detector = make_detector()
    detector.handle(batch("stream-online-booking.json"), None)
    by_channel = {n.channel: n.alert for n in detector.queue.sent}
    for alert in by_channel.values():
        assert (alert.patient_first_name, alert.patient_last_name) == ("Maria", "Müller")
        assert (alert.practitioner_name, alert.time_zone, alert.locale) == (
            "Dr. Anna Weber",
            "Europe/Berlin",
            "de",
        )
        assert alert.previous_starts_at is None
    assert by_channel["in_app"].visit_motive == "Erstuntersuchung"
    assert by_channel["sms"].visit_motive is None and by_channel["email"].visit_motive is None


def test_a_cancellation_alert_has_no_previous_start() -> None:
    detector = make_detector()
    detector.handle(batch("stream-late-cancellation.json"), None)
    assert {(n.alert.kind, n.alert.previous_starts_at) for n in detector.queue.sent} == {("cancelled", None)}


def test_the_same_batch_twice_yields_the_same_notification_ids() -> None:
    first, second = make_detector(), make_detector()
    first.handle(batch("stream-online-booking.json"), None)
    second.handle(batch("stream-online-booking.json"), None)
    assert [n.notification_id for n in first.queue.sent] == [n.notification_id for n in second.queue.sent]


def test_reschedule_carries_old_and_new_start() -> None:
    detector = make_detector()
    detector.handle(batch("stream-late-reschedule.json"), None)
    alert = detector.queue.sent[0].alert
    assert alert.kind == "rescheduled"
    assert (
        alert.previous_starts_at is not None
        and alert.previous_starts_at.isoformat() == "2027-09-09T12:00:00+02:00"
    )
    assert alert.starts_at.isoformat() == "2027-09-10T09:30:00+02:00"


def test_silent_changes_queue_nothing() -> None:
    detector = make_detector()
    files = (
        "stream-early-cancellation.json",
        "stream-early-reschedule.json",
        "stream-practice-change.json",
        "stream-ttl-removal.json",
    )
    response = detector.handle(batch(*files), None)
    assert response == {"batchItemFailures": []}
    assert detector.queue.sent == []


def test_settings_are_read_once_per_batch_for_its_distinct_calendars() -> None:
    settings = FakeSettings({WEBER.calendar_id: WEBER})
    detector = make_detector(settings)
    records = [booking_for(f"apt-{i}", "cal-dr-weber" if i % 2 else "cal-other", str(i)) for i in range(1, 7)]
    detector.handle({"Records": records}, None)
    assert settings.reads == [{"cal-dr-weber", "cal-other"}]


def test_calendar_without_settings_gets_only_the_in_calendar_alert() -> None:
    detector = make_detector(FakeSettings())
    detector.handle(batch("stream-online-booking.json"), None)
    assert [n.channel for n in detector.queue.sent] == ["in_app"]


def test_calendar_without_contacts_is_silent_when_the_feed_is_off(caplog: Any) -> None:
    no_contact = CalendarSettings(calendar_id="cal-dr-weber")
    detector = make_detector(FakeSettings({"cal-dr-weber": no_contact}), in_app=False)
    detector.handle(batch("stream-online-booking.json"), None)
    assert detector.queue.sent == []
    unknown = make_detector(FakeSettings(), in_app=False)
    unknown.handle(batch("stream-online-booking.json"), None)
    assert unknown.queue.sent == []


def test_malformed_record_is_parked_with_its_reason_while_neighbours_go_out() -> None:
    bad = booking_for("apt-bad", seq="2")
    del bad["dynamodb"]["NewImage"]["starts_at"]
    event = {"Records": [booking_for("apt-1", seq="1"), bad, booking_for("apt-3", seq="3")]}
    detector = make_detector()
    response = detector.handle(event, None)
    assert response == {"batchItemFailures": []}
    assert {n.alert.appointment_id for n in detector.queue.sent} == {"apt-1", "apt-3"}
    (parked,) = detector.parking.parked
    assert parked["source"] == "detector"
    assert "NewImage.starts_at: missing" in parked["reason"]
    assert parked["payload"]["eventID"] == "ev-apt-bad"


def test_a_parked_record_says_where_the_stream_keeps_it_and_is_counted_for_the_alarm() -> None:
    # The summary finds the record in the stream when its payload is too large to park whole.
    detector_module.metrics.clear_metrics()
    bad = booking_for("apt-bad", seq="7")
    del bad["dynamodb"]["NewImage"]["starts_at"]
    detector = make_detector()
    detector.handle({"Records": [bad]}, None)
    (parked,) = detector.parking.parked
    assert parked["summary"] == {
        "eventID": "ev-apt-bad",
        "eventName": "INSERT",
        "eventSourceARN": bad["eventSourceARN"],
        "dynamodb": {
            "SequenceNumber": "7",
            "ApproximateCreationDateTime": 1820000000,
            "Keys": {"appointment_id": {"S": "apt-bad"}},
        },
    }
    emitted = detector_module.metrics.serialize_metric_set()
    definitions = emitted["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert {"Name": "RecordsParked", "Unit": "Count"} in definitions
    value = emitted["RecordsParked"]
    assert (sum(value) if isinstance(value, list) else value) == 1.0
    detector_module.metrics.clear_metrics()


def test_transient_failure_retries_from_that_record_and_keeps_order() -> None:
    queue = FakeQueue(fail_for={"apt-2"}, failure=TransientError)
    detector = make_detector(queue=queue)
    event = {"Records": [booking_for(f"apt-{i}", seq=str(i)) for i in (1, 2, 3)]}
    response = detector.handle(event, None)
    # Lambda checkpoints at the lowest failed sequence number; the records after it come again,
    # so they are not processed now (that could put a cancellation ahead of its booking).
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}
    # SQS takes or refuses each entry of a request on its own: apt-3's went in beside apt-2's
    # failure, and is deduplicated when its record comes again.
    assert {n.alert.appointment_id for n in queue.sent} == {"apt-1", "apt-3"}
    detector.queue.fail_for.clear()  # type: ignore[attr-defined]
    retried = {"Records": [booking_for(f"apt-{i}", seq=str(i)) for i in (2, 3)]}
    assert detector.handle(retried, None) == {"batchItemFailures": []}
    assert [n.alert.appointment_id for n in queue.sent].count("apt-3") == 3  # SMS, e-mail, pop-up once each


def test_a_whole_batch_is_queued_together_rather_than_record_by_record() -> None:
    queue = FakeQueue()
    detector = make_detector(queue=queue)
    event = {"Records": [booking_for(f"apt-{i}", seq=str(i)) for i in range(1, 31)]}
    assert detector.handle(event, None) == {"batchItemFailures": []}
    assert queue.requests == 9  # ten to a request, not one request per record (30)
    assert len(queue.sent) == 90


def test_a_record_that_comes_again_is_not_parked_this_time() -> None:
    queue = FakeQueue(fail_for={"apt-1"}, failure=TransientError)
    detector = make_detector(queue=queue)
    broken = booking_for("apt-bad", seq="2")
    del broken["dynamodb"]["NewImage"]["starts_at"]
    response = detector.handle({"Records": [booking_for("apt-1", seq="1"), broken]}, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "2"}]}
    # Parked on the retry, once, instead of now and again then.
    assert detector.parking.parked == []


def test_permanent_queue_rejection_parks_the_record() -> None:
    queue = FakeQueue(fail_for={"apt-1"}, failure=PermanentError)
    detector = make_detector(queue=queue)
    response = detector.handle({"Records": [booking_for("apt-1")]}, None)
    assert response == {"batchItemFailures": []}
    assert detector.parking.parked[0]["reason"] == "queue said no"


def test_unavailable_settings_fail_only_the_records_that_need_them() -> None:
    settings = FakeSettings(failure=TransientError("dynamodb.BatchGetItem: ThrottlingException"))
    detector = make_detector(settings)
    removal = copy.deepcopy(load_event("stream-ttl-removal.json")["Records"][0])
    removal["dynamodb"]["SequenceNumber"] = "1"
    response = detector.handle({"Records": [removal, booking_for("apt-2", seq="2")]}, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}


def test_calendar_with_invalid_stored_settings_parks_its_alert_and_others_go_on() -> None:
    broken = InvalidSettings("cal-broken", "calendar settings of 'cal-broken' are invalid: alert_mobile")
    detector = make_detector(FakeSettings({WEBER.calendar_id: WEBER, "cal-broken": broken}))
    event = {"Records": [booking_for("apt-1", "cal-broken", "1"), booking_for("apt-2", seq="2")]}
    assert detector.handle(event, None) == {"batchItemFailures": []}
    assert detector.parking.parked[0]["reason"].endswith("alert_mobile")
    assert {n.alert.appointment_id for n in detector.queue.sent} == {"apt-2"}


def _malformed(appointment_id: str, seq: str) -> dict[str, Any]:
    record = booking_for(appointment_id, seq=seq)
    del record["dynamodb"]["NewImage"]["starts_at"]
    return record


def _removal(seq: str) -> dict[str, Any]:
    record = copy.deepcopy(load_event("stream-ttl-removal.json")["Records"][0])
    record["dynamodb"]["SequenceNumber"] = seq
    return record


def test_after_the_first_record_fails_nothing_behind_it_is_decided_or_parked_now() -> None:
    # The booking cannot read its settings; the broken record and the removal behind it come
    # again from there, so parking the broken one now would park it twice.
    settings = FakeSettings(failure=TransientError("dynamodb.BatchGetItem: ThrottlingException"))
    detector = make_detector(settings)
    event = {"Records": [booking_for("apt-1", seq="1"), _malformed("apt-bad", "2"), _removal("3")]}
    response = detector.handle(event, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": s} for s in ("1", "2", "3")]}
    assert detector.parking.parked == []
    assert detector.queue.sent == []


def test_a_failure_in_the_middle_holds_back_only_the_records_from_it_on(caplog: Any) -> None:
    settings = FakeSettings(failure=TransientError("dynamodb.BatchGetItem: ThrottlingException"))
    detector = make_detector(settings)
    event = {"Records": [_removal("1"), booking_for("apt-2", seq="2"), _malformed("apt-bad", "3")]}
    caplog.set_level("INFO")
    response = detector.handle(event, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}
    assert detector.parking.parked == []
    # Only the removal was decided; the broken record is decided once, when it comes again.
    (line,) = [r for r in caplog.records if r.getMessage() == "decisions"]
    assert [d["reason"] for d in line.decisions] == ["ttl_expiry"]  # type: ignore[attr-defined]


def test_a_batch_whose_every_record_fails_is_handed_back_whole_as_a_partial_response() -> None:
    settings = FakeSettings(failure=TransientError("dynamodb.BatchGetItem: ThrottlingException"))
    detector = make_detector(settings)
    event = {"Records": [booking_for(f"apt-{i}", seq=str(i)) for i in (1, 2, 3)]}
    # Not raised: a function error would page the errors alarm and bisect a batch that only
    # needs to come again.
    response = detector.handle(event, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": s} for s in ("1", "2", "3")]}
    assert detector.parking.parked == [] and detector.queue.sent == []


def test_an_appointments_alerts_on_one_channel_share_a_fifo_group_sqs_accepts() -> None:
    # SQS takes MessageGroupId up to 128 characters; appointment ids may be 128 long themselves.
    def groups(appointment_id: str) -> dict[str, str]:
        detector = make_detector()
        detector.handle({"Records": [booking_for(appointment_id)]}, None)
        return {n.channel: message_group(n) for n in detector.queue.sent}

    fits = "a" * 124  # with "#sms", exactly 128
    assert groups(fits)["sms"] == f"{fits}#sms"
    long = "b" * 128
    hashed = hashlib.sha256(long.encode()).hexdigest()
    assert groups(long) == {"sms": f"{hashed}#sms", "email": f"{hashed}#email", "in_app": f"{hashed}#in_app"}


def test_a_record_without_its_stream_part_is_parked_with_what_little_it_says() -> None:
    broken = booking_for("apt-bad")
    del broken["dynamodb"]
    detector = make_detector()
    assert detector.handle({"Records": [broken]}, None) == {"batchItemFailures": []}
    (parked,) = detector.parking.parked
    assert parked["summary"]["eventID"] == "ev-apt-bad"
    assert parked["summary"]["dynamodb"] == {
        "SequenceNumber": None,
        "ApproximateCreationDateTime": None,
        "Keys": None,
    }


def test_each_decision_is_logged_with_why_and_the_batch_counts_alerts_and_silent_changes(caplog: Any) -> None:
    # docs/operations.md: one `decisions` line lists event, appointment, calendar, change, alert,
    # reason and channels; AlertsQueued and ChangesSilent feed the dashboard.
    detector_module.metrics.clear_metrics()
    no_contacts = CalendarSettings(calendar_id="cal-no-contacts")
    detector = make_detector(
        FakeSettings({WEBER.calendar_id: WEBER, no_contacts.calendar_id: no_contacts}), in_app=False
    )
    records = [
        booking_for("apt-1", seq="1"),
        booking_for("apt-2", calendar_id="cal-unknown", seq="2"),
        booking_for("apt-3", calendar_id="cal-no-contacts", seq="3"),
    ]
    with caplog.at_level(logging.INFO):
        detector.handle({"Records": records}, None)
    (line,) = [r for r in caplog.records if r.getMessage() == "decisions"]
    assert line.decisions == [
        {
            "event_id": "ev-apt-1",
            "appointment_id": "apt-1",
            "calendar_id": "cal-dr-weber",
            "change": "booked",
            "alert": True,
            "reason": "online_booking",
            "channels": ["sms", "email"],
        },
        {
            "event_id": "ev-apt-2",
            "appointment_id": "apt-2",
            "calendar_id": "cal-unknown",
            "change": "booked",
            "alert": False,
            "reason": "no_calendar_settings",
            "channels": [],
        },
        {
            "event_id": "ev-apt-3",
            "appointment_id": "apt-3",
            "calendar_id": "cal-no-contacts",
            "change": "booked",
            "alert": False,
            "reason": "no_contact",
            "channels": [],
        },
    ]
    emitted = detector_module.metrics.serialize_metric_set()
    counted = {d["Name"]: d["Unit"] for d in emitted["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert counted == {"AlertsQueued": "Count", "ChangesSilent": "Count"}
    totals = {name: sum(v) if isinstance(v := emitted[name], list) else v for name in counted}
    assert totals == {"AlertsQueued": 1.0, "ChangesSilent": 2.0}  # one alert (on two channels)
    detector_module.metrics.clear_metrics()
