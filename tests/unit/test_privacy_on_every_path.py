"""Every log line the detector, the sender and the delivery receipts can write, run with log
capture: none carries a contact or a patient name, and neither do the metrics they emit.

Each scenario drives one path (over the SMS cap, a delivery log that fails, a back-off that
fails, parking, each warning) with a calendar and a patient whose contact and name appear
nowhere else. The last test reads the source and fails when a log line is added that no
scenario here runs: a leak in a line nobody ran is the kind the end-to-end privacy test missed.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import gzip
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

import practitioner_alerts.delivery_events as delivery_events_module
import practitioner_alerts.detector as detector_module
import practitioner_alerts.sender as sender_module
from practitioner_alerts.delivery_events import DeliveryReceipts
from practitioner_alerts.detector import AlertDetector
from practitioner_alerts.domain.notifications import AlertContent, Notification, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import OperatorError, PermanentError, TransientError
from tests.conftest import load_event
from tests.fakes import (
    FakeDeliveryLog,
    FakeEmail,
    FakeInFlight,
    FakeParkingLot,
    FakePush,
    FakeQueue,
    FakeSettings,
    FakeSms,
    InMemoryIdempotency,
    fake_sender,
)

MOBILE = "+4915199998888"
EMAIL = "zelda.quackenbush@example.org"
FIRST, LAST = "Zelda", "Quackenbush"
PERSONAL = (MOBILE, MOBILE[1:], EMAIL, FIRST, LAST, "zelda.quackenbush")
PHONE_PATTERN = re.compile(r"\+\d[\d ()/-]{7,}\d")
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

CALENDAR = CalendarSettings(
    calendar_id="cal-private", practitioner_name="Dr. Anna Weber", alert_email=EMAIL, alert_mobile=MOBILE
).with_contacts_verified()
EMAIL_ONLY = CALENDAR.model_copy(update={"alert_mobile": None, "verified_mobile": None})
SMS_ONLY = CALENDAR.model_copy(update={"alert_email": None, "verified_email": None})
ALERT = AlertContent(
    kind="booked",
    calendar_id="cal-private",
    appointment_id="apt-private",
    starts_at=datetime(2027, 9, 9, 10, tzinfo=UTC),
    changed_at=datetime(2027, 9, 1, 16, tzinfo=UTC),
    patient_first_name=FIRST,
    patient_last_name=LAST,
    visit_motive="Erstuntersuchung",
    practitioner_name="Dr. Anna Weber",
    time_zone="Europe/Berlin",
    locale="de",
)


def queue_event(notifications: list[Notification], bodies: list[str] | None = None) -> dict[str, Any]:
    bodies = bodies or [n.model_dump_json() for n in notifications]
    return {
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


def stream_record(sequence: str, **image: str) -> dict[str, Any]:
    record = json.loads(json.dumps(load_event("stream-online-booking.json")["Records"][0]))
    record["dynamodb"]["SequenceNumber"] = sequence
    values = {"calendar_id": "cal-private", "patient_first_name": FIRST, "patient_last_name": LAST, **image}
    for name, value in values.items():
        record["dynamodb"]["NewImage"][name] = {"S": value}
    return record


class _Failing:
    """Raises ``error`` from the named methods, and otherwise is ``inner``."""

    def __init__(self, inner: Any, error: Exception, *methods: str) -> None:
        self._inner, self._error, self._methods = inner, error, methods

    def __getattr__(self, name: str) -> Any:
        if name in self._methods:

            def fail(*_: Any, **__: Any) -> Any:
                raise self._error

            return fail
        return getattr(self._inner, name)


class _NoCompletion(InMemoryIdempotency):
    def _update_record(self, data_record: DataRecord) -> None:
        raise TransientError("dynamodb.UpdateItem: ThrottlingException")


@dataclasses.dataclass
class _SettingsNow:
    calendars: dict[str, CalendarSettings]

    def get(self, calendar_id: str) -> CalendarSettings | None:
        return self.calendars.get(calendar_id)


THROTTLED = TransientError("dynamodb.PutItem: ThrottlingException")


def delivered() -> None:
    assert fake_sender().handle(queue_event(notifications_for(ALERT, CALENDAR, in_app=True)), None) == {
        "batchItemFailures": []
    }


def over_the_cap_covered_by_email() -> None:
    sender = fake_sender(delivery_log=FakeDeliveryLog(cap_reached=True))
    sender.handle(queue_event(notifications_for(ALERT, CALENDAR, in_app=False)), None)
    assert sender.sms.outbox == [] and len(sender.email.outbox) == 1  # type: ignore[attr-defined]


def over_the_cap_parked() -> None:
    sender = fake_sender(delivery_log=FakeDeliveryLog(cap_reached=True))
    sender.handle(queue_event(notifications_for(ALERT, SMS_ONLY, in_app=False)), None)
    assert sender.parking.parked  # type: ignore[attr-defined]


def receipt_mapping_not_stored() -> None:
    sender = fake_sender(delivery_log=_Failing(FakeDeliveryLog(), THROTTLED, "remember_sms"))
    sender.handle(queue_event(notifications_for(ALERT, SMS_ONLY, in_app=False)), None)
    assert len(sender.sms.outbox) == 1  # type: ignore[attr-defined]


def delivery_log_failure() -> None:
    sender = fake_sender(
        email=FakeEmail(failures=[PermanentError("sesv2.SendEmail: MessageRejected")]),
        delivery_log=_Failing(FakeDeliveryLog(), THROTTLED, "record_failure"),
    )
    sender.handle(queue_event(notifications_for(ALERT, EMAIL_ONLY, in_app=False)), None)
    assert sender.parking.parked  # type: ignore[attr-defined]


def back_off_not_applied() -> None:
    sender = fake_sender(
        sms=FakeSms(failures=[TransientError("sns.Publish: Throttling")]),
        in_flight=_Failing(FakeInFlight(), TransientError("sqs.ChangeMessageVisibility: x"), "postpone"),
    )
    response = sender.handle(queue_event(notifications_for(ALERT, SMS_ONLY, in_app=False)), None)
    assert response["batchItemFailures"]


def idempotency_not_completed_and_not_settled() -> None:
    sender = fake_sender(
        idempotency_store=_NoCompletion(),
        in_flight=_Failing(FakeInFlight(), TransientError("sqs.DeleteMessage: x"), "settle"),
    )
    sender.handle(queue_event(notifications_for(ALERT, SMS_ONLY, in_app=False)), None)
    assert len(sender.sms.outbox) == 1  # type: ignore[attr-defined]


def operators_mistake() -> None:
    sender = fake_sender(email=FakeEmail(failures=[OperatorError("sesv2.SendEmail: NotFoundException")]))
    sender.handle(queue_event(notifications_for(ALERT, EMAIL_ONLY, in_app=False)), None)


def contact_changed() -> None:
    moved = CALENDAR.model_copy(update={"alert_email": "someone.else@example.net"})
    sender = fake_sender(settings=_SettingsNow({"cal-private": moved}))
    sender.handle(queue_event(notifications_for(ALERT, EMAIL_ONLY, in_app=False)), None)
    assert sender.email.outbox == []  # type: ignore[attr-defined]


def push_failed() -> None:
    sender = fake_sender(push=FakePush(failure=TransientError("appsync.Publish: 503")))
    sender.handle(queue_event(notifications_for(ALERT, CALENDAR, in_app=True)), None)


def sms_told_by_a_digest() -> None:
    two = [
        next(n for n in notifications_for(alert, SMS_ONLY, in_app=False) if n.channel == "sms")
        for alert in (ALERT, ALERT.model_copy(update={"appointment_id": "apt-other"}))
    ]
    sender = fake_sender(sms_digest_after=1, digests=FakeQueue())
    sender.handle(queue_event(two), None)
    assert len(sender.sms.outbox) == 1 and len(sender.digests.sent) == 1  # type: ignore[attr-defined,union-attr]


def malformed_message_parked() -> None:
    (mail,) = notifications_for(ALERT, EMAIL_ONLY, in_app=False)
    body = json.loads(mail.model_dump_json())
    body["to"] = f"{EMAIL}\r\nBcc: {EMAIL}"
    sender = fake_sender()
    sender.handle(queue_event([], bodies=[json.dumps(body), f"not json, but {FIRST} {LAST} <{EMAIL}>"]), None)
    assert len(sender.parking.parked) == 2  # type: ignore[attr-defined]


def detector(queue: FakeQueue | None = None, settings: FakeSettings | None = None) -> AlertDetector:
    return AlertDetector(
        settings=settings or FakeSettings({"cal-private": CALENDAR}),
        queue=queue or FakeQueue(),
        parking=FakeParkingLot(),
        window=timedelta(hours=24),
        in_app_feed=True,
    )


def decisions_and_a_record_parked() -> None:
    found = detector()
    broken = stream_record("2", starts_at=f"{FIRST} {LAST}")
    found.handle({"Records": [stream_record("1"), broken]}, None)
    assert found.parking.parked  # type: ignore[attr-defined]


def not_queued() -> None:
    found = detector(queue=FakeQueue(fail_for={"apt-1001"}, failure=TransientError))
    assert found.handle({"Records": [stream_record("1")]}, None)["batchItemFailures"]


def delivery_receipts() -> None:
    @dataclasses.dataclass
    class Log:
        def record_failure(self, *_: Any) -> None: ...

        def calendar_of_sms(self, message_id: str) -> str | None:
            return "cal-private" if message_id == "known" else None

    bounce = load_event("ses-bounce.json")
    message = json.loads(bounce["Records"][0]["Sns"]["Message"])
    message["mail"]["destination"] = [EMAIL]
    message["bounce"]["bouncedRecipients"] = [{"emailAddress": EMAIL, "diagnosticCode": f"550 <{EMAIL}>"}]
    bounce["Records"][0]["Sns"]["Message"] = json.dumps(message)
    not_json = json.loads(json.dumps(bounce))
    not_json["Records"][0]["Sns"]["Message"] = f"<{EMAIL}> {FIRST}"
    receipts = DeliveryReceipts(Log())  # type: ignore[arg-type]
    assert receipts.handle(bounce) == {"recorded": 1}
    receipts.handle(not_json)
    sms = load_event("sms-failure-logs.json")
    receipts.handle(_sms_logs(sms, "known"))
    receipts.handle(_sms_logs(sms, "unknown"))


def _sms_logs(template: dict[str, Any], message_id: str) -> dict[str, Any]:
    data = json.loads(gzip.decompress(base64.b64decode(template["awslogs"]["data"])))
    for log_event in data["logEvents"]:
        status = json.loads(log_event["message"])
        status["notification"]["messageId"] = message_id
        status["delivery"]["destination"] = MOBILE
        log_event["message"] = json.dumps(status)
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}}


# Each scenario and the log lines it must have written, so a scenario that stopped reaching
# its path fails instead of passing on silence.
SCENARIOS: dict[str, tuple[Callable[[], None], set[str]]] = {
    "delivered": (delivered, {"notification delivered"}),
    "over the SMS cap, covered by e-mail": (
        over_the_cap_covered_by_email,
        {"sms over the hourly cap; the e-mail carries this alert"},
    ),
    "over the SMS cap, parked": (over_the_cap_parked, {"notification parked"}),
    "receipt mapping not stored": (receipt_mapping_not_stored, {"sms receipt mapping not stored"}),
    "delivery log failure": (delivery_log_failure, {"delivery failure not logged", "notification parked"}),
    "back-off not applied": (back_off_not_applied, {"backoff not applied"}),
    "idempotency record not completed": (
        idempotency_not_completed_and_not_settled,
        {"delivered, but the idempotency record could not be completed", "message not deleted early"},
    ),
    "operator's mistake": (operators_mistake, {"the deployment refused a delivery"}),
    "contact changed": (
        contact_changed,
        {"not sent: the calendar's contact changed since the alert was queued"},
    ),
    "push failed": (push_failed, {"push failed; the calendar page catches up from the feed"}),
    "malformed message parked": (malformed_message_parked, {"notification parked"}),
    "sms told by a digest": (sms_told_by_a_digest, {"sms alert told by the window's digest"}),
    "decisions, record parked": (decisions_and_a_record_parked, {"decisions", "record parked"}),
    "not queued": (
        not_queued,
        {"notifications not queued; the batch resumes from the first record not queued"},
    ),
    "delivery receipts": (
        delivery_receipts,
        {"delivery failure recorded", "SES event is not JSON", "SMS receipt for an unknown message"},
    ),
}
MODULES = (sender_module, detector_module, delivery_events_module)


def emitted_metrics() -> Iterator[str]:
    """What the modules' Metrics would flush (EMF: dimensions, metadata, values), then cleared."""
    for module in MODULES:
        metrics = module.metrics
        if metrics.metric_set:
            yield json.dumps(metrics.serialize_metric_set(), default=str)
        metrics.clear_metrics()


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_log_line_or_metric_of_the_path_carries_a_contact_or_a_patient_name(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    scenario, expected = SCENARIOS[name]
    list(emitted_metrics())
    with caplog.at_level(logging.DEBUG):
        scenario()
    assert expected <= {record.getMessage() for record in caplog.records}
    written = [json.dumps(vars(record), default=str) for record in caplog.records]
    written += list(emitted_metrics())
    leaks = [(value, line[:200]) for line in written for value in PERSONAL if value in line]
    assert leaks == []
    for line in written:
        assert not PHONE_PATTERN.search(line), line[:200]
        assert [found for found in EMAIL_PATTERN.findall(line) if "example" in found] == [], line[:200]


# What an operator finds each line by and reads in it (docs/operations.md, "Logs, metrics, traces"):
# the message, notification or calendar it is about, and for a warning, the reason.
FIELDS: dict[str, set[str]] = {
    "notification delivered": {"notification_id", "appointment_id", "calendar_id", "channel", "kind"},
    "notification parked": {"message_id", "channel", "reason"},
    "not sent: the calendar's contact changed since the alert was queued": {
        "notification_id",
        "calendar_id",
        "channel",
        "kind",
    },
    "sms over the hourly cap; the e-mail carries this alert": {"notification_id", "calendar_id"},
    "sms receipt mapping not stored": {"calendar_id", "reason"},
    "push failed; the calendar page catches up from the feed": {
        "notification_id",
        "calendar_id",
        "alert_id",
        "reason",
    },
    "delivery failure not logged": {"calendar_id", "reason"},
    "message not deleted early": {"message_id", "reason"},
    "delivered, but the idempotency record could not be completed": {"notification_id"},
    "the deployment refused a delivery": {"reason"},
    "backoff not applied": {"message_id", "reason"},
    "record parked": {"event_id", "reason", "sequence_number"},
    "decisions": {"decisions"},
    "notifications not queued; the batch resumes from the first record not queued": {"reason", "records"},
    "delivery failure recorded": {"calendar_id", "channel", "reason"},
    "SMS receipt for an unknown message": {"sns_message_id"},
    "SES event is not JSON": {"sns_message_id"},
    "sms alert told by the window's digest": {"notification_id", "calendar_id", "window"},
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_line_of_the_path_names_what_it_is_about_and_why(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    scenario, expected = SCENARIOS[name]
    with caplog.at_level(logging.DEBUG):
        scenario()
    lines = [record for record in caplog.records if record.getMessage() in expected]
    assert {record.getMessage() for record in lines} == expected
    for record in lines:
        fields = FIELDS[record.getMessage()]
        assert fields <= vars(record).keys(), record.getMessage()
        if "reason" in fields:
            assert isinstance(record.reason, str) and record.reason, record.getMessage()
        named = fields & {"message_id", "notification_id", "calendar_id", "event_id", "sns_message_id"}
        assert all(getattr(record, field) for field in named), record.getMessage()


def _log_messages(module: Any) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "logger"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_every_log_line_of_the_delivery_paths_is_run_by_a_scenario_here() -> None:
    in_code = set().union(*(_log_messages(module) for module in MODULES))
    run = set().union(*(expected for _, expected in SCENARIOS.values()))
    assert in_code - run == set(), "a log line no scenario here runs: add one"
    assert in_code == set(FIELDS), "a log line whose fields FIELDS does not name: add them"
