"""The detector: appointment stream records in, queued notifications out.

One record's path: read the change -> decide (the short-notice rule) -> look up the calendar's
contacts -> queue one notification per channel. Records that can never succeed are parked in
the stream dead-letter queue with their reason; transient failures make the record retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from practitioner_alerts.adapters.dynamodb import InvalidSettings
from practitioner_alerts.domain.appointments import AppointmentChange, read_change
from practitioner_alerts.domain.notifications import Notification, alert_content, notifications_for
from practitioner_alerts.domain.rule import Decision, Reason, decide
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import AlertError, MalformedRecord, PermanentError, TransientError

logger = Logger(child=True)
metrics = Metrics()


class SettingsSource(Protocol):
    def get_many(self, calendar_ids: Iterable[str]) -> dict[str, CalendarSettings | InvalidSettings]: ...


class NotificationSink(Protocol):
    def enqueue(self, notifications: Sequence[Notification]) -> None: ...


class ParkingLot(Protocol):
    def park(self, *, source: str, reason: str, payload: Mapping[str, Any], group: str = ...) -> None: ...


class SkippedAfterEarlierFailure(TransientError):
    """Lambda retries a stream batch from its lowest failed record, so everything after it comes
    again anyway; processing it now could queue a cancellation before the booking it cancels."""


@dataclass
class _Batch:
    settings: dict[str, CalendarSettings | InvalidSettings] = field(default_factory=dict)
    settings_error: AlertError | None = None
    failed: bool = False


@dataclass(frozen=True)
class AlertDetector:
    settings: SettingsSource
    queue: NotificationSink
    parking: ParkingLot
    window: timedelta
    in_app_feed: bool

    def handle(self, event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
        batch = self._read_settings_once(event.get("Records") or [])

        def record_handler(record: DynamoDBRecord) -> None:
            if batch.failed:
                raise SkippedAfterEarlierFailure("an earlier record in this batch failed")
            try:
                self._handle_record(record, batch)
            except Exception:
                batch.failed = True
                raise

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    def _read_settings_once(self, records: Sequence[Mapping[str, Any]]) -> _Batch:
        """One settings read for the distinct calendars of the batch, never one per record."""
        batch = _Batch()
        calendar_ids = {cid for record in records if (cid := _calendar_id_of(record))}
        if calendar_ids:
            try:
                batch.settings = self.settings.get_many(calendar_ids)
            except AlertError as error:
                # Only the records that need settings fail; removals and practice edits go on.
                batch.settings_error = error
        return batch

    def _handle_record(self, record: DynamoDBRecord, batch: _Batch) -> None:
        try:
            change = _read(record)
            decision = decide(change, self.window)
            notifications, decision = self._notifications(change, decision, batch)
            self.queue.enqueue(notifications)
        except PermanentError as error:
            self._park(record, error)
            return
        logger.info(
            "decision",
            extra={
                "event_id": change.event_id,
                "appointment_id": change.appointment_id,
                "calendar_id": change.calendar_id,
                "change": decision.kind.value,
                "alert": bool(notifications),
                "reason": decision.reason.value,
                "channels": [n.channel for n in notifications],
            },
        )
        metrics.add_metric(
            name="AlertsQueued" if notifications else "ChangesSilent", unit=MetricUnit.Count, value=1
        )

    def _notifications(
        self, change: AppointmentChange, decision: Decision, batch: _Batch
    ) -> tuple[list[Notification], Decision]:
        if not decision.alert:
            return [], decision
        calendar_id = change.calendar_id
        assert calendar_id is not None  # alerts come only from records with a new image
        if batch.settings_error is not None:
            raise TransientError(f"calendar settings unavailable: {batch.settings_error.reason}")
        settings = batch.settings.get(calendar_id)
        if isinstance(settings, InvalidSettings):
            raise PermanentError(settings.reason)
        if settings is None and not self.in_app_feed:
            return [], Decision(decision.kind, False, Reason.NO_CALENDAR_SETTINGS)
        # Without settings the in-calendar feed still shows the alert, in the default language.
        settings = settings or CalendarSettings(calendar_id=calendar_id)
        if not settings.channels and not self.in_app_feed:
            return [], Decision(decision.kind, False, Reason.NO_CONTACT)
        content = alert_content(change, decision.kind, settings)
        return notifications_for(content, settings, in_app=self.in_app_feed), decision

    def _park(self, record: DynamoDBRecord, error: PermanentError) -> None:
        # If parking itself fails, the TransientError propagates and the record is retried.
        self.parking.park(source="detector", reason=error.reason, payload=record.raw_event)
        logger.warning(
            "record parked",
            extra={"event_id": record.event_id, "reason": error.reason, "sequence_number": _sequence(record)},
        )
        metrics.add_metric(name="RecordsParked", unit=MetricUnit.Count, value=1)


def _read(record: DynamoDBRecord) -> AppointmentChange:
    stream = record.dynamodb
    if stream is None:
        raise MalformedRecord("dynamodb: missing")
    try:
        keys, old_image, new_image = stream.keys, stream.old_image, stream.new_image
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise MalformedRecord(
            f"dynamodb: images are not DynamoDB-typed JSON ({type(error).__name__})"
        ) from error
    return read_change(
        event_id=record.event_id or "",
        event_name=str(record.get("eventName")),
        keys=keys or None,
        old_image=old_image or None,
        new_image=new_image or None,
        principal_id=record.user_identity.get("principalId"),
    )


def _sequence(record: DynamoDBRecord) -> str | None:
    return record.dynamodb.sequence_number if record.dynamodb else None


def _calendar_id_of(record: Mapping[str, Any]) -> str | None:
    """The calendar of a record that may alert, if it says so plainly; parsing proper comes later.

    Only new images can alert, so removals never cost a settings read."""
    try:
        value = record["dynamodb"]["NewImage"]["calendar_id"]["S"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) and value else None
