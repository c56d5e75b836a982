"""The detector: appointment stream records in, queued notifications out.

One record's path: read the change -> decide (the short-notice rule) -> look up the calendar's
contacts -> queue one notification per channel. Records that can never succeed are parked in
the stream dead-letter queue with their reason; transient failures make the record retry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from practitioner_alerts.adapters.dynamodb import InvalidSettings
from practitioner_alerts.adapters.sqs import QueueOutcome
from practitioner_alerts.domain.appointments import AppointmentChange, is_calendar_id, read_change
from practitioner_alerts.domain.notifications import Notification, alert_content, notifications_for
from practitioner_alerts.domain.rule import Decision, Reason, decide
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import AlertError, MalformedRecord, PermanentError, TransientError

logger = Logger(child=True)
metrics = Metrics()

DECISIONS_PER_LINE = 100


class SettingsSource(Protocol):
    def get_many(self, calendar_ids: Iterable[str]) -> dict[str, CalendarSettings | InvalidSettings]: ...


class NotificationSink(Protocol):
    def enqueue_in_order(
        self, per_record: Sequence[Sequence[Notification]], time_for_a_call: Callable[[], bool] = ...
    ) -> QueueOutcome: ...


class ParkingLot(Protocol):
    def park(
        self,
        *,
        source: str,
        reason: str,
        payload: Mapping[str, Any],
        group: str = ...,
        summary: Mapping[str, Any] | None = ...,
    ) -> None: ...


@dataclass
class _CallBudget:
    """Whether one more queue or parking request surely ends before the invocation does: a
    request cut off by the time-out would leave its records half done. The first request of an
    invocation always goes, so that every invocation gets somewhere: otherwise a batch too slow
    to decide would be handed back whole, again and again."""

    context: LambdaContext | None
    longest_call_seconds: float | None
    used: bool = False

    def __call__(self) -> bool:
        first, self.used = not self.used, True
        if first or self.context is None or self.longest_call_seconds is None:
            return True
        # This request, and a parking request after it.
        return self.context.get_remaining_time_in_millis() >= 2 * self.longest_call_seconds * 1000


class SkippedAfterEarlierFailure(TransientError):
    """Lambda retries a stream batch from its lowest failed record, so everything after it comes
    again anyway; processing it now could queue a cancellation before the booking it cancels."""


@dataclass
class _Batch:
    settings: dict[str, CalendarSettings | InvalidSettings] = field(default_factory=dict)
    settings_error: AlertError | None = None
    failed: bool = False
    # Each record read so far, with its notifications or the reason it can never succeed;
    # queued and parked together once the whole batch is read.
    decided: list[tuple[DynamoDBRecord, list[Notification], str | None]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    silent: int = 0


@dataclass(frozen=True)
class AlertDetector:
    settings: SettingsSource
    queue: NotificationSink
    parking: ParkingLot
    window: timedelta
    in_app_feed: bool
    # How long one AWS call can take at most (wiring.LONGEST_CALL_SECONDS); None: no budget.
    longest_call_seconds: float | None = None

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

        # A batch whose every record failed (one record, one throttled settings read) is still a
        # partial response: raising would be a function error, paging the errors alarm and
        # bisecting a batch that only needs to come again.
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
        try:
            response = process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
            return self._queue(event, batch, response, _CallBudget(context, self.longest_call_seconds))
        finally:
            _log_decisions(batch.decisions)
            if batch.silent:
                metrics.add_metric(name="ChangesSilent", unit=MetricUnit.Count, value=batch.silent)

    def _queue(
        self,
        event: dict[str, Any],
        batch: _Batch,
        response: PartialItemFailureResponse,
        time_for_a_call: Callable[[], bool],
    ) -> PartialItemFailureResponse:
        """Queues the batch's notifications ten to a request instead of a request per record,
        then parks the records that can never succeed.

        A record whose notifications did not all get in fails, and so does every record after
        it: Lambda resumes from the lowest failed record, and what was already queued is
        deduplicated by SQS when it comes again. Parking waits until then, so a record that
        will come round again is not parked twice."""
        outcome = QueueOutcome()
        if any(notifications for _, notifications, _ in batch.decided):
            outcome = self.queue.enqueue_in_order(
                [notifications for _, notifications, _ in batch.decided], time_for_a_call
            )
        retry_from = len(batch.decided) if outcome.retry_from is None else outcome.retry_from
        not_done: list[str | None] = []
        queued = 0
        for index, (record, notifications, parked_for) in enumerate(batch.decided):
            reason = parked_for or outcome.rejected.get(index)
            if index < retry_from and reason is not None:
                try:
                    if not time_for_a_call():
                        raise TransientError("out of time before parking")
                    self._park(record, reason)
                except TransientError:
                    retry_from = index  # not parked: the record comes round again
            if index >= retry_from:
                not_done.append(_sequence(record))
            elif reason is None and notifications:
                queued += 1
        if not_done:
            logger.warning(
                "notifications not queued; the batch resumes from the first record not queued",
                extra={"reason": outcome.retry_reason, "records": len(not_done)},
            )
        if queued:
            metrics.add_metric(name="AlertsQueued", unit=MetricUnit.Count, value=queued)
        return {"batchItemFailures": _in_stream_order(event, response, not_done)}

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
        except PermanentError as error:
            batch.decided.append((record, [], error.reason))
            return
        except TransientError:
            raise
        except Exception as error:  # noqa: BLE001 - see below
            # Only our own service calls (the settings read, the queue write) may make a record
            # retry: anything else that breaks on one record would break on it again on every
            # retry for an hour, holding back the shard behind it. The type only: a message
            # may quote the record's data.
            batch.decided.append((record, [], f"unreadable_record: {type(error).__name__}"))
            return
        batch.decided.append((record, notifications, None))
        batch.decisions.append(
            {
                "event_id": change.event_id,
                "appointment_id": change.appointment_id,
                "calendar_id": change.calendar_id,
                "change": decision.kind.value,
                "alert": bool(notifications),
                "reason": decision.reason.value,
                "channels": [n.channel for n in notifications],
            }
        )
        if not notifications:
            batch.silent += 1

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

    def _park(self, record: DynamoDBRecord, reason: str) -> None:
        self.parking.park(
            source="detector", reason=reason, payload=record.raw_event, summary=_summary(record.raw_event)
        )
        logger.warning(
            "record parked",
            extra={"event_id": record.event_id, "reason": reason, "sequence_number": _sequence(record)},
        )
        metrics.add_metric(name="RecordsParked", unit=MetricUnit.Count, value=1)


def _summary(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Where to find a record too large to park whole: the stream keeps it for 24 hours."""
    stream = raw.get("dynamodb")
    stream = stream if isinstance(stream, Mapping) else {}
    where = {name: _short(stream.get(name)) for name in ("SequenceNumber", "ApproximateCreationDateTime")}
    keys = stream.get("Keys")
    if len(json.dumps(keys, default=str)) <= 4096:  # DynamoDB keys are at most 2 KB
        where["Keys"] = keys
    return {
        "eventID": _short(raw.get("eventID")),
        "eventName": _short(raw.get("eventName")),
        "eventSourceARN": _short(raw.get("eventSourceARN")),
        "dynamodb": where,
    }


def _short(value: object) -> object:
    return value[:2048] if isinstance(value, str) else value if isinstance(value, int | float) else None


def _log_decisions(decisions: Sequence[Mapping[str, Any]]) -> None:
    """What was decided for each record and why, a line per hundred records.

    A line per record was half of the detector's CPU time; a line per batch keeps every
    decision searchable (by appointment, calendar or event id) at a fraction of the cost, and a
    hundred decisions stay far below CloudWatch Logs' 256 KB per line."""
    for start in range(0, len(decisions), DECISIONS_PER_LINE):
        logger.info("decisions", extra={"decisions": decisions[start : start + DECISIONS_PER_LINE]})


def _read(record: DynamoDBRecord) -> AppointmentChange:
    stream = record.dynamodb
    if stream is None:
        raise MalformedRecord("dynamodb: missing")
    raw_name = record.get("eventName")
    event_name = raw_name if isinstance(raw_name, str) else None
    _refuse_binary(record.raw_event.get("dynamodb"))
    try:
        # Only what the change needs is deserialized: a removal is decided by its keys, an
        # insert by its new image (the costliest step per record after logging, once).
        keys = stream.keys
        new_image = stream.new_image if event_name != "REMOVE" else None
        old_image = stream.old_image if event_name == "MODIFY" else None
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as error:
        # ArithmeticError: a number beyond DynamoDB's 38 digits fails in the decimal context.
        raise MalformedRecord(
            f"dynamodb: images are not DynamoDB-typed JSON ({type(error).__name__})"
        ) from error
    return read_change(
        event_id=record.event_id or "",
        event_name=event_name,
        keys=keys or None,
        old_image=old_image or None,
        new_image=new_image or None,
        principal_id=record.user_identity.get("principalId"),
    )


def _refuse_binary(stream: object) -> None:
    """Powertools deserializes a Binary attribute to its base64 text, which the contract's model
    would then read as a String: a visit motive written as bytes alerted as "AP8=" (make chaos's
    poison records found it). The contract's attributes are Strings and Numbers only."""
    if not isinstance(stream, Mapping):
        return
    for image in ("Keys", "NewImage", "OldImage"):
        attributes = stream.get(image)
        if not isinstance(attributes, Mapping):
            continue
        for name, value in attributes.items():
            if isinstance(value, Mapping) and ("B" in value or "BS" in value):
                raise MalformedRecord(f"{str(name)[:64]}: a Binary value where the contract has text")


def _in_stream_order(
    event: Mapping[str, Any], response: PartialItemFailureResponse, more: Sequence[str | None]
) -> list[PartialItemFailures]:
    """The failures already reported plus ``more``, each once, in the order of the stream."""
    position = {_sequence(DynamoDBRecord(raw)): index for index, raw in enumerate(event.get("Records") or [])}
    # Stream failures are identified by sequence number (the Kafka shape never occurs here).
    identifiers = [str(item["itemIdentifier"]) for item in response["batchItemFailures"]]
    identifiers += [sequence for sequence in more if sequence and sequence not in identifiers]
    return [
        {"itemIdentifier": identifier}
        for identifier in sorted(identifiers, key=lambda i: position.get(i, len(position)))
    ]


def _sequence(record: DynamoDBRecord) -> str | None:
    return record.dynamodb.sequence_number if record.dynamodb else None


def _calendar_id_of(record: Mapping[str, Any]) -> str | None:
    """The calendar of a record that may alert, if it says so plainly; parsing proper comes later.

    Only new images can alert, so removals never cost a settings read."""
    try:
        value = record["dynamodb"]["NewImage"]["calendar_id"]["S"]
    except (KeyError, TypeError):
        return None
    # An id the contract refuses is parked when its record is read; asking DynamoDB for it
    # (a 100 KB key, say) would fail the read for every calendar of the batch.
    if not isinstance(value, str):
        return None
    value = value.strip()  # as the contract's model reads it
    return value if is_calendar_id(value) else None
