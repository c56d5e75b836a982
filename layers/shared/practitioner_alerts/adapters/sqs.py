"""SQS: the FIFO notification queue and the dead-letter queues where hopeless work is parked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from practitioner_alerts.adapters.aws_errors import aws_call
from practitioner_alerts.domain.notifications import Notification, message_group
from practitioner_alerts.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SendMessageBatch takes at most ten entries, and a request (like one message) at most the
# queue's MaximumMessageSize, counted as body plus attribute names, types and values. The
# template leaves it at SQS's default of 256 KiB.
_BATCH_LIMIT = 10
MESSAGE_LIMIT_BYTES = 262_144
# Whole-request refusals that a smaller request may pass.
_TOO_LARGE = frozenset({"BatchRequestTooLong"})


@dataclass(frozen=True)
class QueueOutcome:
    """What became of a stream batch's notifications, by the index of the record they came from.

    ``rejected`` records had an entry SQS will never take (their reason says which); they are
    parked, not retried. ``retry_from`` is the first record with an entry that failed for a
    reason that may pass: nothing after it was sent, so it and everything after it go again.
    """

    rejected: Mapping[int, str] = field(default_factory=dict)
    retry_from: int | None = None
    retry_reason: str = ""


@dataclass(frozen=True)
class _Entry:
    record: int
    notification: Notification

    @property
    def body(self) -> str:
        return self.notification.model_dump_json()

    @property
    def attributes(self) -> dict[str, dict[str, str]]:
        return {"channel": {"DataType": "String", "StringValue": self.notification.channel}}

    def size(self) -> int:
        return len(self.body.encode()) + _attributes_size(self.attributes)


class NotificationQueue:
    """Queues notifications in appointment order, each exactly once, ten to a request.

    MessageGroupId is the appointment and channel (:func:`message_group`), so a cancellation can
    never overtake the booking it cancels on any channel, and a failing channel holds back only
    itself; MessageDeduplicationId is the notification id, so a stream batch that comes again
    within the five-minute deduplication window queues nothing new.
    """

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        """Queues one alert's notifications, raising if any of them was not taken."""
        outcome = self.enqueue_in_order([notifications])
        if outcome.rejected:
            raise PermanentError(outcome.rejected[0])
        if outcome.retry_from is not None:
            raise TransientError(outcome.retry_reason)

    def enqueue_in_order(
        self,
        per_record: Sequence[Sequence[Notification]],
        time_for_a_call: Callable[[], bool] = lambda: True,
    ) -> QueueOutcome:
        """Queues a whole batch's notifications in as few requests as SQS allows.

        Requests go out in record order and stop at the first one that failed for a reason that
        may pass, or when ``time_for_a_call`` says the invocation may end before another request
        does; so whatever the next attempt sends lands behind what this one sent."""
        entries = [_Entry(index, n) for index, notifications in enumerate(per_record) for n in notifications]
        rejected: dict[int, str] = {}
        pending = list(_chunks(entries))
        while pending:
            chunk = pending.pop(0)
            if not time_for_a_call():
                reason = "out of time: the invocation may end before another request does"
                return QueueOutcome(rejected=rejected, retry_from=chunk[0].record, retry_reason=reason)
            try:
                failed = self._send_batch(chunk)
            except PermanentError as error:
                if error.code in _TOO_LARGE and len(chunk) > 1:
                    # Our estimate of the size and SQS's disagree: halve until each half fits.
                    middle = len(chunk) // 2
                    pending[:0] = [chunk[:middle], chunk[middle:]]
                    continue
                for entry in chunk:
                    rejected.setdefault(entry.record, error.reason)
                continue
            except TransientError as error:
                return QueueOutcome(rejected=rejected, retry_from=chunk[0].record, retry_reason=error.reason)
            for entry, code, sender_fault in failed:
                if sender_fault:
                    rejected.setdefault(entry.record, f"sqs.SendMessageBatch rejected an entry: {code}")
            transient = [entry.record for entry, _, sender_fault in failed if not sender_fault]
            if transient:
                first = min(transient)
                codes = ", ".join(sorted({code for _, code, _ in failed}))
                return QueueOutcome(
                    rejected={i: r for i, r in rejected.items() if i < first},
                    retry_from=first,
                    retry_reason=f"sqs.SendMessageBatch failed {len(failed)} of {len(chunk)}: {codes}",
                )
        return QueueOutcome(rejected=rejected)

    def _send_batch(self, chunk: Sequence[_Entry]) -> list[tuple[_Entry, str, bool]]:
        entries = [
            {
                "Id": str(index),
                "MessageBody": entry.body,
                "MessageGroupId": message_group(entry.notification),
                "MessageDeduplicationId": entry.notification.notification_id,
                "MessageAttributes": entry.attributes,
            }
            for index, entry in enumerate(chunk)
        ]
        with aws_call("sqs.SendMessageBatch", permanent_codes=_TOO_LARGE):
            response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)  # type: ignore[arg-type]
        # Entries that did go through are deduplicated when the record is retried.
        return [
            (
                chunk[int(failure["Id"])],
                failure.get("Code", "Unknown"),
                bool(failure.get("SenderFault")),
            )
            for failure in response.get("Failed", [])
        ]


def _chunks(entries: Sequence[_Entry]) -> Iterator[list[_Entry]]:
    """Splits into requests of at most ten entries and SQS's size limit, in order.

    A request also ends before a second record's entry for an appointment already in it: SQS
    takes or refuses each entry on its own, so a booking refused in the same request as its
    cancellation could otherwise let the cancellation into the queue first. An entry too large
    on its own still gets a request of its own, which SQS refuses and the record is parked."""
    chunk: list[_Entry] = []
    size = 0
    records_by_appointment: dict[str, int] = {}
    for entry in entries:
        appointment = entry.notification.alert.appointment_id
        earlier = records_by_appointment.get(appointment, entry.record)
        entry_size = entry.size()
        full = len(chunk) == _BATCH_LIMIT or size + entry_size > MESSAGE_LIMIT_BYTES
        if chunk and (full or earlier != entry.record):
            yield chunk
            chunk, size, records_by_appointment = [], 0, {}
        chunk.append(entry)
        size += entry_size
        records_by_appointment[appointment] = entry.record
    if chunk:
        yield chunk


def _attributes_size(attributes: Mapping[str, Mapping[str, str]]) -> int:
    return sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


class DeadLetterQueue:
    """Parks what can never succeed, with the reason, for an operator to inspect or redrive.

    The body is ``{"source", "reason", "payload"}``; ``payload`` is the original record or
    message, so a redrive can put it back exactly as it came.
    """

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")

    def park(
        self,
        *,
        source: str,
        reason: str,
        payload: Mapping[str, Any],
        group: str = "parked",
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """``summary`` stands in for ``payload`` when the whole would not fit in one message:
        a record that cannot be parked would otherwise retry, and hold back the ones behind it."""
        attributes = {
            "source": {"DataType": "String", "StringValue": source},
            "reason": {"DataType": "String", "StringValue": reason[:256] or "unknown"},
        }
        body = _parked_body(source, reason, payload)
        if len(body.encode()) + _attributes_size(attributes) > MESSAGE_LIMIT_BYTES:
            body = _parked_body(
                source,
                f"{reason} (too large to park whole: only its summary is kept)",
                summary or {},
                payload_truncated=True,
            )
        request: dict[str, Any] = {
            "QueueUrl": self._queue_url,
            "MessageBody": body,
            "MessageAttributes": attributes,
        }
        if self._fifo:
            request["MessageGroupId"] = group
            request["MessageDeduplicationId"] = hashlib.sha256(body.encode()).hexdigest()
        with aws_call("sqs.SendMessage"):
            self._client.send_message(**request)


def _parked_body(
    source: str, reason: str, payload: Mapping[str, Any], *, payload_truncated: bool = False
) -> str:
    parked: dict[str, Any] = {"source": source, "reason": reason, "payload": payload}
    if payload_truncated:
        parked["payload_truncated"] = True
    return json.dumps(parked, sort_keys=True, default=str)


class InFlightMessages:
    """What the sender may do to the queue messages it is working on, beyond Lambda's own handling.

    ``postpone`` puts a message that hit a transient failure back with a growing delay. Without it
    a throttled message would come back after the full visibility timeout each time and reach
    the dead-letter queue after maxReceiveCount tries, however short the throttling was.

    ``hold`` keeps an SMS digest out of sight until its window ends (domain.digest).

    ``settle`` deletes a message at once, for the one case where waiting for Lambda to delete it
    at the end of the batch is unsafe: SNS or SES accepted it but its idempotency record could not
    be completed, so a crash later in the invocation would have it delivered a second time.
    """

    def __init__(
        self, client: SQSClient, queue_url: str, *, first_delay: int = 10, longest_delay: int = 300
    ) -> None:
        self._client = client
        self._queue_url = queue_url
        self._first_delay = first_delay
        self._longest_delay = longest_delay

    def delay_for(self, receive_count: int) -> int:
        delay: int = self._first_delay * 2 ** max(receive_count - 1, 0)
        return min(delay, self._longest_delay)

    def settle(self, receipt_handle: str) -> None:
        with aws_call("sqs.DeleteMessage"):
            self._client.delete_message(QueueUrl=self._queue_url, ReceiptHandle=receipt_handle)

    def hold(self, receipt_handle: str, seconds: int) -> None:
        """Keeps a message out of sight for ``seconds`` (a digest waiting for its window's end)."""
        with aws_call("sqs.ChangeMessageVisibility"):
            self._client.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )

    def postpone(self, receipt_handle: str, receive_count: int) -> int:
        delay = self.delay_for(receive_count)
        with aws_call("sqs.ChangeMessageVisibility"):
            self._client.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay
            )
        return delay
