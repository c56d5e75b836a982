"""Delivery receipts reach the calendar's delivery log, so practitioners can fix a bad contact."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from practitioner_alerts.adapters.dynamodb import DeliveryFailure
from practitioner_alerts.delivery_events import DeliveryReceipts, email_failure, sms_failure
from tests.conftest import load_event


@dataclass
class FakeFailureLog:
    recorded: dict[tuple[str, str], tuple[DeliveryFailure, int]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=lambda: {"sns-msg-1": "cal-dr-weber"})

    def record_failure(self, calendar_id: str, failure: DeliveryFailure, expires_at: int) -> None:
        self.recorded[(calendar_id, failure.channel)] = (failure, expires_at)

    def calendar_of_sms(self, message_id: str) -> str | None:
        return self.owners.get(message_id)


def test_permanent_bounce_is_recorded_for_the_calendar_it_was_sent_for() -> None:
    log = FakeFailureLog()
    assert DeliveryReceipts(log).handle(load_event("ses-bounce.json")) == {"recorded": 1}
    failure, expires_at = log.recorded[("cal-dr-weber", "email")]
    assert failure.reason == "bounce: Permanent/General"
    assert failure.failed_at == "2027-09-08T11:05:00.000Z"
    bounced = int(datetime(2027, 9, 8, 11, 5, tzinfo=UTC).timestamp())
    assert expires_at == bounced + 30 * 86400  # 30 days after the bounce, not after now


def test_failed_sms_receipt_finds_its_calendar_through_the_message_id() -> None:
    log = FakeFailureLog()
    assert DeliveryReceipts(log).handle(load_event("sms-failure-logs.json")) == {"recorded": 1}
    failure, _ = log.recorded[("cal-dr-weber", "sms")]
    assert failure.reason == "sms not delivered: Phone is currently unreachable/unavailable"


def test_receipt_for_an_sms_we_do_not_know_is_skipped() -> None:
    log = FakeFailureLog(owners={})
    assert DeliveryReceipts(log).handle(load_event("sms-failure-logs.json")) == {"recorded": 0}


def test_deliveries_and_opens_are_not_failures() -> None:
    delivery = {"eventType": "Delivery", "mail": {"tags": {"calendar_id": ["cal-1"]}, "timestamp": "x"}}
    assert email_failure(delivery) is None
    success = json.dumps({"status": "SUCCESS", "notification": {"messageId": "m"}, "delivery": {}})
    assert sms_failure(success) is None
    assert sms_failure("not json") is None


def test_complaint_tells_the_practitioner_they_marked_it_as_spam() -> None:
    complaint = {
        "eventType": "Complaint",
        "complaint": {"complaintFeedbackType": "abuse", "timestamp": "2027-09-08T11:05:00Z"},
        "mail": {"tags": {"calendar_id": ["cal-1"]}, "timestamp": "2027-09-08T11:04:00Z"},
    }
    found = email_failure(complaint)
    assert found is not None
    assert found[0] == "cal-1" and found[1].reason == "complaint: abuse"


def test_event_without_a_calendar_tag_is_ignored() -> None:
    assert email_failure({"eventType": "Bounce", "mail": {"tags": {}}}) is None
