"""In-memory collaborators that record what the detector and sender emitted.

They stand in for the AWS adapters in unit tests, the way a practitioner's phone and inbox
would: what they hold is what went out. ``tests/contract`` holds each of them to its real
adapter (same inputs, outputs, errors and counts); where one must differ, its docstring says so
in one line, and no test relies on the difference.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from practitioner_alerts.adapters.dynamodb import DeliveryFailure, FeedEntry, InvalidSettings
from practitioner_alerts.adapters.sqs import QueueOutcome
from practitioner_alerts.domain.digest import DigestLine
from practitioner_alerts.domain.notifications import Notification, address_problem
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

    def get(self, calendar_id: str) -> CalendarSettings | None:
        """One calendar's settings as the sender reads them before an SMS or e-mail."""
        found = self.calendars.get(calendar_id)
        return found if isinstance(found, CalendarSettings) else None


@dataclass
class FakeQueue:
    """The notification queue: ten to a request, a new request for a second change to an
    appointment already in it, and each notification id taken once, as ``NotificationQueue``.
    Differs: it deduplicates for ever (SQS for five minutes) and has no 256 KiB request limit."""

    sent: list[Notification] = field(default_factory=list)
    # Appointments whose entries the queue refuses, as SendMessageBatch's "Failed" list would:
    # a PermanentError type for a sender fault, a TransientError type for one that may pass.
    fail_for: set[str] = field(default_factory=set)
    failure: type[AlertError] | None = None
    requests: int = 0  # SendMessageBatch requests
    _taken: set[str] = field(default_factory=set)

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        outcome = self.enqueue_in_order([notifications])
        if outcome.rejected:
            raise PermanentError(outcome.rejected[0])
        if outcome.retry_from is not None:
            raise TransientError(outcome.retry_reason)

    def enqueue_in_order(
        self, per_record: Sequence[Sequence[Notification]], time_for_a_call: Callable[[], bool] = lambda: True
    ) -> QueueOutcome:
        rejected: dict[int, str] = {}
        for chunk in _requests(per_record):
            if not time_for_a_call():
                reason = "out of time: the invocation may end before another request does"
                return QueueOutcome(rejected=rejected, retry_from=chunk[0][0], retry_reason=reason)
            self.requests += 1
            failed: list[int] = []
            for record, notification in chunk:
                if self.failure and notification.alert.appointment_id in self.fail_for:
                    if issubclass(self.failure, PermanentError):
                        rejected.setdefault(record, "queue said no")
                    else:
                        failed.append(record)
                    continue
                if notification.notification_id not in self._taken:
                    self._taken.add(notification.notification_id)
                    self.sent.append(notification)
            if failed:
                first = min(failed)
                kept = {index: reason for index, reason in rejected.items() if index < first}
                return QueueOutcome(rejected=kept, retry_from=first, retry_reason="queue said no")
        return QueueOutcome(rejected=rejected)


def _requests(per_record: Sequence[Sequence[Notification]]) -> Iterator[list[tuple[int, Notification]]]:
    chunk: list[tuple[int, Notification]] = []
    record_of: dict[str, int] = {}
    for record, notifications in enumerate(per_record):
        for notification in notifications:
            appointment = notification.alert.appointment_id
            if chunk and (len(chunk) == 10 or record_of.get(appointment, record) != record):
                yield chunk
                chunk, record_of = [], {}
            chunk.append((record, notification))
            record_of[appointment] = record
    if chunk:
        yield chunk


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
        if address_problem("sms", to):
            raise PermanentError("sns.Publish: InvalidParameter", code="InvalidParameter")
        self.outbox.append((to, text))
        return f"sms-{len(self.outbox)}"


@dataclass
class FakeEmail:
    outbox: list[tuple[str, Email]] = field(default_factory=list)
    failures: list[AlertError] = field(default_factory=list)
    tags: list[Mapping[str, str] | None] = field(default_factory=list)  # of each e-mail sent

    def send(self, to: str, email: Email, tags: Mapping[str, str] | None = None) -> str:
        if self.failures:
            raise self.failures.pop(0)
        if problem := address_problem("email", to):
            raise PermanentError(
                f"sesv2.SendEmail: invalid_address: the address {problem}", code="InvalidAddress"
            )
        self.outbox.append((to, email))
        self.tags.append(tags)
        return f"email-{len(self.outbox)}"


@dataclass
class FakeFeed:
    entries: dict[tuple[str, str], FeedEntry] = field(default_factory=dict)

    def add(self, entry: FeedEntry) -> None:
        self.entries.setdefault((entry.calendar_id, entry.alert_id), entry)


@dataclass
class FakeDigest:
    """One calendar's digest window in ``FakeDeliveryLog``."""

    alerts: int = 0
    lines: dict[str, DigestLine] = field(default_factory=dict)
    closed: bool = False


@dataclass
class FakeDeliveryLog:
    """SMS segments counted per calendar and hour against the cap, the SMS digest windows, the last
    failure per channel and the SMS receipt mapping, as ``DeliveryLogTable``. Differs: nothing
    expires."""

    # Every calendar's hour already full, whatever the cap.
    cap_reached: bool = False
    failures: dict[tuple[str, str], DeliveryFailure] = field(default_factory=dict)
    sms_owners: dict[str, str] = field(default_factory=dict)
    segments_spent: list[int] = field(default_factory=list)
    spent_per_hour: dict[tuple[str, str], int] = field(default_factory=dict)
    digests: dict[tuple[str, str], FakeDigest] = field(default_factory=dict)

    def spend_sms(self, calendar_id: str, hour: str, cap: int, expires_at: int, segments: int = 1) -> bool:
        spent = self.spent_per_hour.get((calendar_id, hour), 0)
        if self.cap_reached or spent + segments > cap:
            return False
        self.spent_per_hour[(calendar_id, hour)] = spent + segments
        self.segments_spent.append(segments)
        return True

    def record_failure(self, calendar_id: str, failure: DeliveryFailure, expires_at: int) -> None:
        self.failures[(calendar_id, failure.channel)] = failure

    def last_failures(self, calendar_id: str) -> dict[str, DeliveryFailure]:
        return {channel: f for (calendar, channel), f in self.failures.items() if calendar == calendar_id}

    def remember_sms(self, message_id: str, calendar_id: str, expires_at: int) -> None:
        self.sms_owners[message_id] = calendar_id

    def calendar_of_sms(self, message_id: str) -> str | None:
        return self.sms_owners.get(message_id)

    def count_sms_alert(self, calendar_id: str, window_key: str, expires_at: int) -> int | None:
        window = self.digests.setdefault((calendar_id, window_key), FakeDigest())
        if window.closed:
            return None
        window.alerts += 1
        return window.alerts

    def join_digest(self, calendar_id: str, window_key: str, line: DigestLine, expires_at: int) -> bool:
        window = self.digests.setdefault((calendar_id, window_key), FakeDigest())
        if not window.closed:
            window.lines[line.notification_id] = line
        return line.notification_id in window.lines

    def close_digest(self, calendar_id: str, window_key: str) -> list[DigestLine] | None:
        window = self.digests.get((calendar_id, window_key))
        if window is None:
            return None
        window.closed = True
        return sorted(window.lines.values(), key=lambda line: (line.starts_at, line.notification_id))


@dataclass
class FakeInFlight:
    """The messages in flight: postponed by 10 s, doubling with each receive, at most 300 s, as
    ``InFlightMessages``. Differs: nothing comes back; ``postponed`` and ``settled`` record it."""

    postponed: list[tuple[str, int]] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    held: list[tuple[str, int]] = field(default_factory=list)

    def hold(self, receipt_handle: str, seconds: int) -> None:
        self.held.append((receipt_handle, seconds))

    def postpone(self, receipt_handle: str, receive_count: int) -> int:
        self.postponed.append((receipt_handle, receive_count))
        return int(min(10 * 2 ** max(receive_count - 1, 0), 300))

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
    """Powertools idempotency records in a dict, under the DynamoDB store's condition: a record
    is taken over when it expired, or when it is in progress past its in-progress expiry (its
    invocation died); otherwise ``_put_record`` raises. For tests that run thousands of examples."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        abandoned = (
            existing is not None
            and existing.status == STATUS_CONSTANTS["INPROGRESS"]
            and existing.in_progress_expiry_timestamp is not None
            and existing.in_progress_expiry_timestamp < int(time.time() * 1000)
        )
        if existing is not None and not existing.is_expired and not abandoned:
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
