"""What the first chaos runs found in the sender, each pinned by the test that failed before its fix."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from practitioner_alerts.detector import _read
from practitioner_alerts.domain.notifications import notifications_for
from practitioner_alerts.errors import MalformedRecord, TransientError
from practitioner_alerts.rendering import Email
from practitioner_alerts_local.chaos import letter_unit
from practitioner_alerts_local.functions import FakeLambdaContext
from tests.fakes import (
    FakeEmail,
    FakeInFlight,
    FakeParkingLot,
    FakeSms,
    InMemoryIdempotency,
    fake_sender,
)
from tests.integration.test_sender import WEBER, booking, sqs_event


def test_a_throttled_sms_alone_in_its_batch_still_comes_back_after_the_short_back_off() -> None:
    # Low traffic: one appointment's alert is the whole batch, and SNS throttles it.
    sender = fake_sender(sms=FakeSms(failures=[TransientError("sns.Publish: Throttling")]))
    sms_only = WEBER.model_copy(update={"alert_email": None})

    response = sender.handle(sqs_event(notifications_for(booking("apt-1"), sms_only, in_app=False)), None)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert isinstance(sender.in_flight, FakeInFlight) and sender.in_flight.postponed == [("r-0", 1)]


class _CompletionFails(InMemoryIdempotency):
    """The idempotency table refuses the "completed" update (throttled, unavailable); an
    in-progress record whose time is up may be taken over, as the DynamoDB store's condition
    allows."""

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        if (
            existing is not None
            and existing.status == "INPROGRESS"
            and (existing.in_progress_expiry_timestamp or 0) < time.time() * 1000
        ):
            del self.records[data_record.idempotency_key]
        super()._put_record(data_record)

    def _update_record(self, data_record: DataRecord) -> None:
        raise RuntimeError("idempotency table unavailable")


class _Crash(BaseException):
    """The execution environment dies; nothing in the handler can catch it."""


@dataclass
class _CrashingOnceEmail(FakeEmail):
    crashes: int = 1

    def send(self, to: str, email: Email, tags: Mapping[str, str] | None = None) -> str:
        if self.crashes:
            self.crashes -= 1
            raise _Crash("out of memory")
        return super().send(to, email, tags)


def test_a_crash_after_a_failed_completion_does_not_send_the_sms_again() -> None:
    sender = fake_sender(email=_CrashingOnceEmail(), idempotency_store=_CompletionFails())
    # One appointment's SMS and e-mail in one batch; the sender delivers them in that order.
    event = sqs_event(notifications_for(booking("apt-1"), WEBER, in_app=False))
    context = FakeLambdaContext("sender", "arn:aws:lambda:eu-central-1:123456789012:function:sender", 0.05)

    with pytest.raises(_Crash):
        sender.handle(event, context)  # type: ignore[arg-type]
    time.sleep(0.1)  # the crashed invocation's time is up; its messages are visible again
    context = FakeLambdaContext("sender", "arn:aws:lambda:eu-central-1:123456789012:function:sender", 0.05)

    # SQS redelivers what is still on the queue: the SMS was settled (deleted) as soon as its
    # idempotency record could not be completed, so only the e-mail comes back.
    assert isinstance(sender.in_flight, FakeInFlight)
    settled = set(sender.in_flight.settled)
    redelivered = {"Records": [r for r in event["Records"] if r["receiptHandle"] not in settled]}
    sender.handle(redelivered, context)  # type: ignore[arg-type]

    assert isinstance(sender.sms, FakeSms) and len(sender.sms.outbox) == 1
    assert isinstance(sender.email, FakeEmail) and len(sender.email.outbox) == 1


@dataclass
class _DeleteFails(FakeInFlight):
    def settle(self, receipt_handle: str) -> None:
        raise TransientError("sqs.DeleteMessage: ThrottlingException")


def test_a_message_neither_recorded_nor_deleted_ends_the_batch_at_once() -> None:
    # The apt-02645 sequence (tests/chaos/test_fault_classes.py runs it through the pipeline):
    # the SMS is out, its completion fails, so does its early delete. Every further call of the
    # invocation would run with the SMS sent again by a crash; so nothing more is called, and the
    # rest of the batch goes back untouched, without back-off calls, never parked for it.
    in_flight = _DeleteFails()
    sender = fake_sender(idempotency_store=_CompletionFails(), in_flight=in_flight, max_receives=1)
    event = sqs_event(notifications_for(booking("apt-1"), WEBER, in_app=False))

    response = sender.handle(event, None)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert isinstance(sender.sms, FakeSms) and len(sender.sms.outbox) == 1
    assert isinstance(sender.email, FakeEmail) and sender.email.outbox == []
    assert in_flight.postponed == []
    assert isinstance(sender.parking, FakeParkingLot) and sender.parking.parked == []


@pytest.mark.parametrize("field", ["visit_motive", "patient_first_name", "patient_last_name"])
def test_a_binary_value_where_the_contract_says_text_is_parked_not_alerted_on(field: str) -> None:
    # make chaos's poison records: Powertools deserializes a Binary to its base64 text, which
    # the contract read as a String, and a booking with a binary visit motive alerted on all its
    # channels (as "AP8=") instead of being parked.
    image = {
        "appointment_id": {"S": "apt-1"},
        "calendar_id": {"S": "cal-1"},
        "starts_at": {"S": "2027-09-20T10:00:00+02:00"},
        "status": {"S": "booked"},
        "changed_at": {"S": "2027-09-20T08:00:00+02:00"},
        "changed_by": {"S": "patient"},
        field: {"B": "AP8="},
    }
    record = {
        "eventID": "ev-1",
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"appointment_id": {"S": "apt-1"}},
            "NewImage": image,
            "SequenceNumber": "1",
        },
    }

    with pytest.raises(MalformedRecord, match=f"{field}: a Binary value"):
        _read(DynamoDBRecord(record))


def test_an_alert_held_back_by_the_redrive_is_known_by_its_letter_whoever_parked_it() -> None:
    # make chaos SEEDS=10 counted four SMS lost in its first seed: SQS had moved them after ten
    # receives, and the redrive held them back because their appointments were cancelled or
    # moved since. A letter SQS moves is the notification itself, unescaped, and chaos read the
    # channel only from the escaped JSON the sender parks, so it did not know them as superseded.
    alert = booking("apt-00268").model_copy(update={"patient_last_name": "Pat00268w1"})
    (sms,) = [n for n in notifications_for(alert, WEBER, in_app=False) if n.channel == "sms"]
    moved_by_sqs = sms.model_dump_json()
    parked_by_the_sender = json.dumps({"source": "sender", "payload": {"body": moved_by_sqs}})
    assert letter_unit(moved_by_sqs) == ("apt-00268", 1, "sms")
    assert letter_unit(parked_by_the_sender) == ("apt-00268", 1, "sms")
    assert letter_unit('{"channel": "sms"}') is None  # no patient token: not one of chaos's alerts
