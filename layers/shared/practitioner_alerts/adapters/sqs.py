"""SQS: the FIFO notification queue and the dead-letter queues where hopeless work is parked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from practitioner_alerts.adapters.aws_errors import aws_call
from practitioner_alerts.domain.notifications import Notification
from practitioner_alerts.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SendMessageBatch takes at most ten entries.
_BATCH_LIMIT = 10


class NotificationQueue:
    """Queues notifications in appointment order, each exactly once.

    MessageGroupId is the appointment, so a cancellation can never overtake the booking it
    cancels; MessageDeduplicationId is the notification id, so a stream batch that comes again
    within the five-minute deduplication window queues nothing new.
    """

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        for start in range(0, len(notifications), _BATCH_LIMIT):
            self._send_batch(notifications[start : start + _BATCH_LIMIT])

    def _send_batch(self, notifications: Sequence[Notification]) -> None:
        entries = [
            {
                "Id": str(index),
                "MessageBody": notification.model_dump_json(),
                "MessageGroupId": notification.alert.appointment_id,
                "MessageDeduplicationId": notification.notification_id,
                "MessageAttributes": {"channel": {"DataType": "String", "StringValue": notification.channel}},
            }
            for index, notification in enumerate(notifications)
        ]
        with aws_call("sqs.SendMessageBatch"):
            response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)  # type: ignore[arg-type]
        failed = response.get("Failed", [])
        if failed:
            # Entries that did go through are deduplicated when the record is retried.
            codes = sorted({entry.get("Code", "Unknown") for entry in failed})
            if all(entry.get("SenderFault") for entry in failed):
                raise PermanentError(
                    f"sqs.SendMessageBatch rejected {len(failed)} entries: {', '.join(codes)}"
                )
            raise TransientError(
                f"sqs.SendMessageBatch failed {len(failed)} of {len(entries)}: {', '.join(codes)}"
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

    def park(self, *, source: str, reason: str, payload: Mapping[str, Any], group: str = "parked") -> None:
        body = json.dumps(
            {"source": source, "reason": reason, "payload": payload}, sort_keys=True, default=str
        )
        request: dict[str, Any] = {
            "QueueUrl": self._queue_url,
            "MessageBody": body,
            "MessageAttributes": {
                "source": {"DataType": "String", "StringValue": source},
                "reason": {"DataType": "String", "StringValue": reason[:256] or "unknown"},
            },
        }
        if self._fifo:
            request["MessageGroupId"] = group
            request["MessageDeduplicationId"] = hashlib.sha256(body.encode()).hexdigest()
        with aws_call("sqs.SendMessage"):
            self._client.send_message(**request)


class InFlightMessages:
    """What the sender may do to the queue messages it is working on, beyond Lambda's own handling.

    ``postpone`` puts a message that hit a transient failure back with a growing delay. Without it
    a throttled message would come back after the full visibility timeout each time and reach
    the dead-letter queue after maxReceiveCount tries, however short the throttling was.

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

    def postpone(self, receipt_handle: str, receive_count: int) -> int:
        delay = self.delay_for(receive_count)
        with aws_call("sqs.ChangeMessageVisibility"):
            self._client.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay
            )
        return delay
