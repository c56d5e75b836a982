"""Event source mapping emulation: what Lambda does between a stream or queue and a function.

Settings come from the template (:class:`~practitioner_alerts_local.stack.StreamMappingConfig`,
:class:`~practitioner_alerts_local.stack.QueueMappingConfig`). Each poller advances one step per
``poll()`` and says whether it did anything, so the runtime can either run until quiet (drain
mode: tests, ``demo``, ``replay``) or poll forever in real time (``serve``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.sqs.models import sqs_backends

from practitioner_alerts_local.filters import sqs_filterable
from practitioner_alerts_local.functions import InProcessFunction, Invocation
from practitioner_alerts_local.stack import (
    LOCAL_ACCOUNT_ID,
    AwsClients,
    QueueMappingConfig,
    StreamMappingConfig,
)

# What DynamoDB writes into a record's userIdentity when TTL deleted the item.
TTL_USER_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


# ------------------------------------------------------------------------------------------------
# DynamoDB stream -> function
# ------------------------------------------------------------------------------------------------
@dataclass
class _StreamBatch:
    """Records on their way to the function, in stream order, with their retry history."""

    records: list[dict[str, Any]]
    arrived_at: list[float]  # epoch seconds per record, for MaximumRecordAgeInSeconds
    retries: int = 0  # failed invocations that count towards MaximumRetryAttempts
    invocations: int = 0  # every invocation, for approximateInvokeCount


@dataclass
class StreamPosition:
    """How far the mapping has read the (single) shard."""

    shard_id: str | None = None
    iterator: str | None = None


class StreamPoller:
    """One DynamoDB stream event source mapping: read, filter, batch, invoke, retry, give up.

    * Filtering happens before batching; filtered-out records are done (never invoked).
    * ReportBatchItemFailures: the checkpoint moves to the lowest failed sequence number and
      only the records from there on are retried (Lambda bisects at the returned record).
    * A function error with BisectBatchOnFunctionError splits the batch in two; the halves
      are retried in order. Splitting does not count as a retry; retrying an unsplittable
      batch does.
    * After MaximumRetryAttempts retries, or once a record is older than
      MaximumRecordAgeInSeconds, the batch's on-failure record goes to the OnFailure
      destination and the mapping moves on.
    """

    def __init__(
        self,
        config: StreamMappingConfig,
        function: InProcessFunction,
        clients: AwsClients,
        ttl_deleted_keys: set[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.function = function
        self._clients = clients
        self._clock = clock
        self._position = StreamPosition()
        self._buffer: list[tuple[dict[str, Any], float]] = []
        self._pending: deque[_StreamBatch] = deque()
        # Keys (as JSON) of items the TTL sweeper deleted; their REMOVE records get TTL's identity.
        self._ttl_deleted_keys = ttl_deleted_keys if ttl_deleted_keys is not None else set()
        self.invocations: list[dict[str, Any]] = []  # every event the function received, in order

    # -- Sources ----------------------------------------------------------------------------------
    def read_shard(self) -> int:
        """Append the shard's new records (filtered) to the buffer; returns how many were read."""
        streams = self._clients("dynamodbstreams")
        if self._position.shard_id is None:
            shards = streams.describe_stream(StreamArn=self.config.stream_arn)["StreamDescription"]["Shards"]
            if not shards:
                return 0
            # moto has one shard per table stream; real DynamoDB splits shards over time.
            self._position.shard_id = shards[0]["ShardId"]
        if self._position.iterator is None:
            self._position.iterator = streams.get_shard_iterator(
                StreamArn=self.config.stream_arn,
                ShardId=self._position.shard_id,
                ShardIteratorType=self.config.starting_position,
            )["ShardIterator"]
        response = streams.get_records(ShardIterator=self._position.iterator, Limit=1000)
        # A shard without a next iterator is closed; moto never closes its single shard, and
        # starting over from StartingPosition would redeliver everything, so keep the old one.
        self._position.iterator = response.get("NextShardIterator") or self._position.iterator
        raw_records = response["Records"]
        # A record's age runs on the poller's clock from when it was read (within a poll of its
        # write; moto's ApproximateCreationDateTime is wall time, in whole seconds), so a test
        # clock can age it past MaximumRecordAgeInSeconds.
        read_at = self._clock()
        for raw in raw_records:
            record = self._lambda_record(raw)
            if self.config.filters.matches(record):
                self._buffer.append((record, read_at))
        return len(raw_records)

    def submit(self, records: list[dict[str, Any]]) -> None:
        """A ready-made batch (a replayed event file): filtered, then invoked as one batch."""
        now = self._clock()
        kept = [record for record in records if self.config.filters.matches(record)]
        if kept:
            self._pending.append(_StreamBatch(kept, [now] * len(kept)))

    def _lambda_record(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        record = lambda_stream_record(raw, self._clients.region, self.config.stream_arn)
        dynamodb = record["dynamodb"]
        key = _key_id(self.config.table, dynamodb["Keys"])
        if raw["eventName"] == "REMOVE" and key in self._ttl_deleted_keys:
            self._ttl_deleted_keys.discard(key)
            record["userIdentity"] = dict(TTL_USER_IDENTITY)
        return record

    # -- Polling --------------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        return not self._buffer and not self._pending

    def poll(self, *, drain: bool) -> bool:
        """Invoke the function at most once; True when something happened."""
        if not self._pending and self._buffer:
            if not drain and not self._window_elapsed():
                return False
            batch, self._buffer = (
                self._buffer[: self.config.batch_size],
                self._buffer[self.config.batch_size :],
            )
            self._pending.append(_StreamBatch([r for r, _ in batch], [t for _, t in batch]))
        if not self._pending:
            return False
        self._invoke(self._pending[0])
        return True

    def _window_elapsed(self) -> bool:
        """Lambda waits up to MaximumBatchingWindowInSeconds for a full batch (real time only)."""
        if len(self._buffer) >= self.config.batch_size:
            return True
        oldest = self._buffer[0][1]
        return self._clock() - oldest >= self.config.batching_window_seconds

    def _invoke(self, batch: _StreamBatch) -> None:
        expired = self._expired(batch)
        if expired:
            self._give_up(batch, "RecordAgeExceeded", None)
            return
        event = {"Records": batch.records}
        self.invocations.append(event)
        batch.invocations += 1
        invocation = self.function.invoke(event)
        failed_from = self._first_failure(batch, invocation)
        if failed_from is None:
            self._pending.popleft()
            return
        remaining = _StreamBatch(
            batch.records[failed_from:], batch.arrived_at[failed_from:], batch.retries, batch.invocations
        )
        if invocation.error is not None and self.config.bisect_on_error and len(remaining.records) > 1:
            middle = len(remaining.records) // 2
            self._pending.popleft()
            self._pending.appendleft(
                _StreamBatch(
                    remaining.records[middle:],
                    remaining.arrived_at[middle:],
                    batch.retries,
                    batch.invocations,
                )
            )
            self._pending.appendleft(
                _StreamBatch(
                    remaining.records[:middle],
                    remaining.arrived_at[:middle],
                    batch.retries,
                    batch.invocations,
                )
            )
            return
        remaining.retries += 1
        limit = self.config.maximum_retry_attempts
        if limit != -1 and remaining.retries > limit:
            self._pending.popleft()
            self._send_on_failure(remaining, "RetryAttemptsExhausted", invocation)
            return
        self._pending[0] = remaining

    def _first_failure(self, batch: _StreamBatch, invocation: Invocation) -> int | None:
        """Index of the first record to retry, or None when the whole batch succeeded."""
        if invocation.error is not None:
            return 0
        if not self.config.report_batch_item_failures or not isinstance(invocation.response, Mapping):
            return None
        failures = invocation.response.get("batchItemFailures") or []
        if not failures:
            return None
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch.records]
        identifiers = [
            failure.get("itemIdentifier") if isinstance(failure, Mapping) else None for failure in failures
        ]
        if any(identifier not in sequence_numbers for identifier in identifiers):
            # Lambda treats a null, empty or unknown identifier as a failure of the whole batch.
            return 0
        return min(sequence_numbers.index(identifier) for identifier in identifiers)

    def _expired(self, batch: _StreamBatch) -> bool:
        limit = self.config.maximum_record_age_seconds
        return limit != -1 and self._clock() - min(batch.arrived_at) > limit

    def _give_up(self, batch: _StreamBatch, condition: str, invocation: Invocation | None) -> None:
        self._pending.popleft()
        self._send_on_failure(batch, condition, invocation)

    def _send_on_failure(self, batch: _StreamBatch, condition: str, invocation: Invocation | None) -> None:
        if self.config.on_failure_queue_url is None:
            return  # without a destination Lambda just drops the batch's records
        records = batch.records
        first, last = records[0], records[-1]
        failure = {
            "requestContext": {
                "requestId": invocation.request_id if invocation else "",
                "functionArn": self.function.arn,
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": (invocation.function_error or "") if invocation else "",
            },
            "version": "1.0",
            "timestamp": _iso(self._clock()),
            "DDBStreamBatchInfo": {
                "shardId": self._position.shard_id or "shardId-replay",
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(
                    float(first["dynamodb"]["ApproximateCreationDateTime"])
                ),
                "approximateArrivalOfLastRecord": _iso(
                    float(last["dynamodb"]["ApproximateCreationDateTime"])
                ),
                "batchSize": len(records),
                "streamArn": first.get("eventSourceARN", self.config.stream_arn),
            },
        }
        self._clients("sqs").send_message(
            QueueUrl=self.config.on_failure_queue_url, MessageBody=json.dumps(failure)
        )


def lambda_stream_record(raw: Mapping[str, Any], region: str, stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams record exactly as Lambda delivers it (moto's own shape differs in details)."""
    stream = raw["dynamodb"]
    created = stream["ApproximateCreationDateTime"]
    created_seconds = created.timestamp() if isinstance(created, datetime) else float(created)
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": int(created_seconds),
        "Keys": _json_safe(stream["Keys"]),
    }
    for image in ("NewImage", "OldImage"):
        if image in stream:
            dynamodb[image] = _json_safe(stream[image])
    dynamodb.update(
        SequenceNumber=stream["SequenceNumber"],
        SizeBytes=stream["SizeBytes"],
        StreamViewType=stream["StreamViewType"],
    )
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _iso(epoch_seconds: float) -> str:
    return (
        datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _json_safe(value: Any) -> Any:
    """Binary attributes arrive from boto3 as bytes; Lambda's JSON carries them base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Mapping):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [_json_safe(item) for item in value]
    return value


def _key_id(table: str, keys: Mapping[str, Any]) -> str:
    return json.dumps([table, _json_safe(dict(keys))], sort_keys=True)


# ------------------------------------------------------------------------------------------------
# TTL: moto never expires items, so the runtime does, on a clock the caller controls
# ------------------------------------------------------------------------------------------------
@dataclass
class TtlSweeper:
    """Deletes items whose TTL attribute is in the past, like DynamoDB's TTL process.

    DynamoDB deletes expired items in the background (typically within days); locally they go at
    the next sweep. The keys are remembered so the stream's REMOVE record can carry TTL's
    ``userIdentity``, which moto does not write.
    """

    clients: AwsClients
    table_logical_id: str
    table_name: str
    attribute: str
    deleted_keys: set[str] = field(default_factory=set)

    def sweep(self, now: float) -> int:
        dynamodb = self.clients("dynamodb")
        key_names = [
            k["AttributeName"]
            for k in dynamodb.describe_table(TableName=self.table_name)["Table"]["KeySchema"]
        ]
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#ttl <= :now",
            "ExpressionAttributeNames": {"#ttl": self.attribute},
            "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
        }
        deleted = 0
        while True:
            page = dynamodb.scan(**request)
            for item in page.get("Items", []):
                key = {name: item[name] for name in key_names}
                try:
                    # Only if it is still expired: a booking platform update may have extended it.
                    dynamodb.delete_item(
                        TableName=self.table_name,
                        Key=key,
                        ConditionExpression="#ttl <= :now",
                        ExpressionAttributeNames={"#ttl": self.attribute},
                        ExpressionAttributeValues={":now": {"N": str(int(now))}},
                    )
                except dynamodb.exceptions.ConditionalCheckFailedException:
                    continue
                self.deleted_keys.add(_key_id(self.table_logical_id, key))
                deleted += 1
            if "LastEvaluatedKey" not in page:
                return deleted
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# ------------------------------------------------------------------------------------------------
# SQS queue -> function
# ------------------------------------------------------------------------------------------------
class QueuePoller:
    """One SQS event source mapping.

    * Receives up to BatchSize messages (several receives for BatchSize > 10).
    * Messages that do not match the filter are deleted, as Lambda does for SQS.
    * ReportBatchItemFailures: the succeeded messages are deleted, the failed ones stay and
      come back after the visibility timeout (in drain mode at once, see ``drain``); a function
      error leaves the whole batch. SQS itself moves a message to the dead-letter queue on the
      receive after maxReceiveCount (moto does this on receive, as SQS does).
    * FIFO: one batch at a time, and SQS never hands out a message group that still has
      messages in flight, so two batches of the same group are never in flight together.
    """

    def __init__(
        self,
        config: QueueMappingConfig,
        function: InProcessFunction,
        clients: AwsClients,
        on_batch: Callable[[list[dict[str, Any]]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.function = function
        self._clients = clients
        self._on_batch = on_batch
        self._clock = clock
        self._gathering: list[dict[str, Any]] = []
        self._gathering_since: float | None = None
        self.failed_receipts: list[str] = []
        self.invocations: list[dict[str, Any]] = []
        # Drain mode only. None: failed messages come back at once. A factor: they come back after
        # what is left of their visibility timeout (the queue's, or what the function set with
        # ChangeMessageVisibility) times the factor, so time-dependent behaviour (an idempotency
        # record left in progress by a crashed invocation) keeps its proportions, only faster.
        self.time_scale: float | None = None
        self._held: list[tuple[float, str]] = []  # (time.monotonic() to release at, receipt handle)

    def poll(self, *, drain: bool) -> bool:
        received = self._receive(self.config.batch_size - len(self._gathering))
        if received and self._gathering_since is None:
            self._gathering_since = self._clock()
        self._gathering.extend(received)
        if not self._gathering:
            return False
        full = len(self._gathering) >= self.config.batch_size
        window_over = self._clock() - (self._gathering_since or 0) >= self.config.batching_window_seconds
        if not (drain or full or window_over):
            return bool(received)
        batch, self._gathering, self._gathering_since = self._gathering, [], None
        self._invoke(batch)
        return True

    def _receive(self, wanted: int) -> list[dict[str, Any]]:
        sqs = self._clients("sqs")
        records: list[dict[str, Any]] = []
        while wanted > 0:
            response = sqs.receive_message(
                QueueUrl=self.config.queue_url,
                MaxNumberOfMessages=min(wanted, 10),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            for message in messages:
                record = self._lambda_record(message)
                if self.config.filters.matches(sqs_filterable(record)):
                    records.append(record)
                else:
                    sqs.delete_message(QueueUrl=self.config.queue_url, ReceiptHandle=message["ReceiptHandle"])
            wanted -= len(messages)
        return records

    def _lambda_record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "stringListValues": list(value.get("StringListValues", [])),
                    "binaryListValues": list(value.get("BinaryListValues", [])),
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.config.queue_arn,
            "awsRegion": self._clients.region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _invoke(self, records: list[dict[str, Any]]) -> None:
        if self._on_batch is not None:
            self._on_batch(records)
        event = {"Records": records}
        self.invocations.append(event)
        invocation = self.function.invoke(event)
        failed = self._failed_ids(records, invocation)
        sqs = self._clients("sqs")
        for record in records:
            if record["messageId"] in failed:
                self._return_to_queue(record)
            else:
                sqs.delete_message(QueueUrl=self.config.queue_url, ReceiptHandle=record["receiptHandle"])

    def _failed_ids(self, records: list[dict[str, Any]], invocation: Invocation) -> set[str]:
        every = {record["messageId"] for record in records}
        if invocation.error is not None:
            return every
        if not self.config.report_batch_item_failures or not isinstance(invocation.response, Mapping):
            return set()
        identifiers = [
            failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
            for failure in invocation.response.get("batchItemFailures") or []
        ]
        if any(identifier not in every for identifier in identifiers):
            return every  # an invalid identifier fails the whole batch, as in Lambda
        return {str(identifier) for identifier in identifiers}

    def _return_to_queue(self, record: Mapping[str, Any]) -> None:
        """Failed messages wait out their visibility timeout. In drain mode the runtime makes
        them visible at once (see ``make_visible_now``) so a run never sits idle for minutes,
        or after a scaled-down wait when ``time_scale`` is set."""
        receipt = str(record["receiptHandle"])
        if self.time_scale is None:
            self.failed_receipts.append(receipt)
            return
        remaining = self._seconds_until_visible(receipt)
        if remaining is None:
            remaining = float(self.config.visibility_timeout_seconds)
        self._held.append((time.monotonic() + remaining * self.time_scale, receipt))

    def _seconds_until_visible(self, receipt: str) -> float | None:
        """What is left of a message's visibility timeout, read from moto's queue (no SQS API
        tells it); None when the message cannot be found there."""
        name = self.config.queue_url.rstrip("/").rsplit("/", 1)[-1]
        queue = sqs_backends[LOCAL_ACCOUNT_ID][self._clients.region].queues.get(name)
        if queue is None:
            return None
        for message in list(queue._messages):
            if message.receipt_handle == receipt:
                return max(0.0, message.visible_at / 1000 - time.time())
        return None

    def make_visible_now(self) -> bool:
        """Drain mode: end the visibility timeout of failed messages now (held ones only once
        their scaled wait is over); True if there were any."""
        receipts, self.failed_receipts = [*self.failed_receipts, *self._take_due()], []
        return self._make_visible(receipts)

    def release_due(self) -> bool:
        """Drain mode with ``time_scale``: bring back the held messages whose wait is over."""
        return self._make_visible(self._take_due())

    def _take_due(self) -> list[str]:
        now = time.monotonic()
        due = [receipt for release_at, receipt in self._held if release_at <= now]
        self._held = [(release_at, receipt) for release_at, receipt in self._held if release_at > now]
        return due

    def _make_visible(self, receipts: list[str]) -> bool:
        if not receipts:
            return False
        sqs = self._clients("sqs")
        for receipt in receipts:
            # If its visibility timeout ended first, it was received again meanwhile, as on SQS.
            with contextlib.suppress(sqs.exceptions.ReceiptHandleIsInvalid):
                sqs.change_message_visibility(
                    QueueUrl=self.config.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )
        return True

    def next_release(self) -> float | None:
        """time.monotonic() at which the next held message comes back; None when none is held."""
        return min((release_at for release_at, _ in self._held), default=None)
