"""In-memory collaborators that record what the detector and sender emitted.

They stand in for the AWS adapters in unit tests, the way a practitioner's phone and inbox
would: what they hold is what went out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from practitioner_alerts.adapters.dynamodb import DeliveryFailure, FeedEntry, InvalidSettings
from practitioner_alerts.adapters.sqs import QueueOutcome
from practitioner_alerts.domain.notifications import Notification
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import AlertError, PermanentError, TransientError
from practitioner_alerts.sender import AlertSender

if TYPE_CHECKING:
    from practitioner_alerts.rendering import Email


@dataclass
class FakeSettings:
    calendars: dict[str, CalendarSettings | InvalidSettings] = field(default_factory=dict)
    reads: list[set[str]] = field(default_factory=list)
    failure: AlertError | None = None

    def get_many(self, calendar_ids: Iterable[str]) -> dict[str, CalendarSettings | InvalidSettings]:
        wanted = set(calendar_ids)
        self.reads.append(wanted)
        if self.failure:
            raise self.failure
        return {cid: s for cid, s in self.calendars.items() if cid in wanted}


@dataclass
class FakeQueue:
    sent: list[Notification] = field(default_factory=list)
    fail_for: set[str] = field(default_factory=set)  # appointment ids whose enqueue fails
    failure: type[AlertError] | None = None

    requests: int = 0

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        for notification in notifications:
            if self.failure and notification.alert.appointment_id in self.fail_for:
                raise self.failure("queue said no")
        self.sent.extend(notifications)

    def enqueue_in_order(
        self, per_record: Sequence[Sequence[Notification]], time_for_a_call: Callable[[], bool] = lambda: True
    ) -> QueueOutcome:
        if not time_for_a_call():
            return QueueOutcome(retry_from=0, retry_reason="out of time") if per_record else QueueOutcome()
        self.requests += 1
        rejected: dict[int, str] = {}
        for index, notifications in enumerate(per_record):
            try:
                self.enqueue(notifications)
            except PermanentError as error:
                rejected[index] = error.reason
            except TransientError as error:
                return QueueOutcome(rejected=rejected, retry_from=index, retry_reason=error.reason)
        return QueueOutcome(rejected=rejected)


@dataclass
class FakeParkingLot:
    parked: list[dict[str, Any]] = field(default_factory=list)

    def park(
        self,
        *,
        source: str,
        reason: str,
        payload: Mapping[str, Any],
        group: str = "parked",
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        self.parked.append(
            {"source": source, "reason": reason, "payload": dict(payload), "group": group, "summary": summary}
        )


@dataclass
class FakeSms:
    outbox: list[tuple[str, str]] = field(default_factory=list)
    failures: list[AlertError] = field(default_factory=list)  # raised one per call, in order

    def send(self, to: str, text: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.outbox.append((to, text))
        return f"sms-{len(self.outbox)}"


@dataclass
class FakeEmail:
    outbox: list[tuple[str, Email]] = field(default_factory=list)
    failures: list[AlertError] = field(default_factory=list)

    def send(self, to: str, email: Email, tags: Mapping[str, str] | None = None) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.outbox.append((to, email))
        return f"email-{len(self.outbox)}"


@dataclass
class FakeFeed:
    entries: dict[tuple[str, str], FeedEntry] = field(default_factory=dict)

    def add(self, entry: FeedEntry) -> None:
        self.entries.setdefault((entry.calendar_id, entry.alert_id), entry)


@dataclass
class FakeDeliveryLog:
    cap_reached: bool = False
    failures: dict[tuple[str, str], DeliveryFailure] = field(default_factory=dict)
    sms_owners: dict[str, str] = field(default_factory=dict)
    segments_spent: list[int] = field(default_factory=list)

    def spend_sms(self, calendar_id: str, hour: str, cap: int, expires_at: int, segments: int = 1) -> bool:
        if self.cap_reached:
            return False
        self.segments_spent.append(segments)
        return True

    def record_failure(self, calendar_id: str, failure: DeliveryFailure, expires_at: int) -> None:
        self.failures[(calendar_id, failure.channel)] = failure

    def remember_sms(self, message_id: str, calendar_id: str, expires_at: int) -> None:
        self.sms_owners[message_id] = calendar_id


@dataclass
class FakeInFlight:
    postponed: list[tuple[str, int]] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)

    def postpone(self, receipt_handle: str, receive_count: int) -> int:
        self.postponed.append((receipt_handle, receive_count))
        return 10 * receive_count

    def settle(self, receipt_handle: str) -> None:
        self.settled.append(receipt_handle)


@dataclass
class FakePush:
    """The real-time channel: what was published to which channel, or the failure it raises."""

    published: list[tuple[str, list[str]]] = field(default_factory=list)
    failure: Exception | None = None

    def publish(self, channel: str, events: Sequence[str]) -> None:
        if self.failure is not None:
            raise self.failure
        self.published.append((channel, list(events)))

    def alerts(self) -> list[tuple[str, dict[str, Any]]]:
        """Each published event decoded, with its channel."""
        return [(channel, json.loads(event)) for channel, events in self.published for event in events]


class InMemoryIdempotency(BasePersistenceLayer):
    """Powertools idempotency records in a dict: the same contract as the DynamoDB store (an
    existing, unexpired record makes ``_put_record`` raise), for tests that run thousands of
    examples."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        if existing is not None and not existing.is_expired:
            raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


def fake_sender(**overrides: Any) -> AlertSender:
    """The real sender over in-memory channels, feed, parking lot and idempotency records;
    ``overrides`` swap in the collaborator a test is about."""
    collaborators: dict[str, Any] = {
        "sms": FakeSms(),
        "email": FakeEmail(),
        "feed": FakeFeed(),
        "parking": FakeParkingLot(),
        "idempotency_store": InMemoryIdempotency(),
        "delivery_log": FakeDeliveryLog(),
        "feed_days": 30,
        "sms_per_calendar_per_hour": 30,
        "in_flight": FakeInFlight(),
        "push": FakePush(),
    }
    return AlertSender(**{**collaborators, **overrides})
