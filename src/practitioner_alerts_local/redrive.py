"""``redrive``: move dead letters back for another attempt, on AWS or on the local stack.

What lands in the two dead-letter queues, and how each goes back:

- notifications DLQ, parked by the sender (``{"source": "sender", "reason", "payload"}``), or a
  bare notification received ``maxReceiveCount`` times: requeued on the notification queue in
  its message group;
- stream DLQ, a record parked by the detector (``{"source": "detector", ...}``): the detector is
  invoked with that record;
- stream DLQ, Lambda's on-failure record (``DDBStreamBatchInfo``): the batch's records are read
  again from the stream (it keeps them 24 h) and the detector is invoked with them.

A redriven notification gets a fresh deduplication id, so the FIFO queue does not drop it as a
copy of the original; the sender's idempotency table still makes sure nothing already delivered
goes out twice. A message that fails again stays in its DLQ and becomes visible after a while.
``--dry-run`` only looks: it receives with a visibility timeout of 0 and changes nothing.

Nothing goes back that a later change superseded. Before a booking, cancellation or reschedule
goes out again, the appointment's current item is read: a booking of a slot since cancelled, or
a reschedule to a start since moved again, would leave the practitioner believing the wrong
thing. Such dead letters are listed as ``superseded`` with the reason and removed (kept on a dry
run); for a batch read again from the stream, only the superseded records are left out.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from practitioner_alerts.adapters.dynamodb import from_item
from practitioner_alerts.domain.appointments import Appointment
from practitioner_alerts.domain.notifications import Notification
from practitioner_alerts.domain.rule import superseded
from practitioner_alerts_local.runtime import LocalRuntime

# Long enough to redrive one message; if the tool dies meanwhile, the message simply reappears.
_WORK_VISIBILITY_SECONDS = 120


class RedriveFailed(Exception):
    """This dead letter could not be moved back; it stays where it is."""


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    message_id: str
    receipt_handle: str
    body: str
    group: str | None

    @property
    def parsed(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.body)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def source(self) -> str:
        body = self.parsed or {}
        if isinstance(body.get("source"), str) and "payload" in body:
            return str(body["source"])
        if "DDBStreamBatchInfo" in body:
            return "stream-retries-exhausted"
        if "notification_id" in body:
            return "max-receive-count"
        return "unknown"

    @property
    def reason(self) -> str:
        body = self.parsed or {}
        if self.source == "stream-retries-exhausted":
            return str(body.get("requestContext", {}).get("condition", "RetryAttemptsExhausted"))
        if self.source == "max-receive-count":
            return "received too often without success"
        return str(body.get("reason", "no reason given"))


@dataclass(frozen=True)
class Outcome:
    letter: DeadLetter
    action: str
    moved: bool
    detail: str = ""
    superseded: str | None = None  # why a later change made it untrue, when it did

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.letter.queue,
            "message_id": self.letter.message_id,
            "source": self.letter.source,
            "reason": self.letter.reason,
            "action": self.action,
            "moved": self.moved,
            "detail": self.detail,
            "superseded": self.superseded,
        }


@dataclass(frozen=True)
class Targets:
    """Where dead letters live and where they go back to, on AWS or on the local stack."""

    sqs: Any
    notification_queue_url: str
    notification_dead_letter_queue_url: str
    stream_dead_letter_queue_url: str
    invoke_detector: Callable[[dict[str, Any]], Mapping[str, Any]]
    streams: Any
    stream_arn: str
    dynamodb: Any
    appointments_table: str

    def current_appointment(self, appointment_id: str) -> Appointment | None:
        """The appointment as it is now; None when it is gone or unreadable."""
        item = _aws(
            lambda: self.dynamodb.get_item(
                TableName=self.appointments_table, Key={"appointment_id": {"S": appointment_id}}
            )
        ).get("Item")
        try:
            return Appointment.model_validate(from_item(item)) if item else None
        except ValidationError:
            return None


def redrive(
    targets: Targets, *, dry_run: bool, queues: tuple[str, ...] = ("notifications", "stream")
) -> list[Outcome]:
    """Each dead letter of ``queues`` (``notifications``, ``stream``) back, or why not."""
    outcomes = []
    urls = {
        "notifications": targets.notification_dead_letter_queue_url,
        "stream": targets.stream_dead_letter_queue_url,
    }
    for queue in queues:
        url = urls[queue]
        visibility = 0 if dry_run else _WORK_VISIBILITY_SECONDS
        for letter in read_dead_letters(targets.sqs, url, queue, visibility):
            why = _superseded(targets, letter)
            if why is not None:
                if not dry_run:
                    targets.sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
                outcomes.append(Outcome(letter, "not sent again", moved=False, superseded=why))
                continue
            action = _plan(letter)
            if dry_run or action is None:
                outcomes.append(Outcome(letter, action or "left alone: not ours to redrive", moved=False))
                continue
            try:
                detail = _execute(targets, letter)
            except RedriveFailed as error:
                outcomes.append(Outcome(letter, action, moved=False, detail=str(error)))
                continue
            targets.sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
            outcomes.append(Outcome(letter, action, moved=True, detail=detail))
    return outcomes


def read_dead_letters(sqs: Any, url: str, queue: str, visibility: int) -> list[DeadLetter]:
    """Every message in the queue once; with visibility 0 nothing is hidden from others."""
    letters: dict[str, DeadLetter] = {}
    while True:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in letters]
        if not fresh:
            return list(letters.values())
        for message in fresh:
            letters[message["MessageId"]] = DeadLetter(
                queue=queue,
                message_id=message["MessageId"],
                receipt_handle=message["ReceiptHandle"],
                body=message["Body"],
                group=message.get("Attributes", {}).get("MessageGroupId"),
            )


def _superseded(targets: Targets, letter: DeadLetter) -> str | None:
    """Why a later change made this dead letter's alert untrue, or None."""
    body = letter.parsed or {}
    if letter.source in ("sender", "max-receive-count"):
        message = body.get("payload", {}).get("body") if letter.source == "sender" else letter.body
        try:
            alert = Notification.model_validate_json(str(message)).alert
        except ValidationError:
            return None  # not a notification: the sender parks it again with its reason
        return superseded(alert.kind, alert.starts_at, targets.current_appointment(alert.appointment_id))
    if letter.source == "detector":
        return _record_superseded(targets, body.get("payload") or {})
    return None


def _record_superseded(targets: Targets, record: Mapping[str, Any]) -> str | None:
    """A stream record is superseded when its new image no longer describes the appointment."""
    try:
        image = record["dynamodb"]["NewImage"]
        written = Appointment.model_validate(from_item(image))
    except (KeyError, TypeError, ValueError):
        return None  # a removal, or a record that breaks the contract: the detector says why
    kind = "cancelled" if written.status == "cancelled" else "booked"
    return superseded(kind, written.starts_at, targets.current_appointment(written.appointment_id))


def _plan(letter: DeadLetter) -> str | None:
    source = letter.source
    if source in ("sender", "max-receive-count"):
        return "requeue on the notification queue"
    if source == "detector":
        return "invoke the detector with the parked record"
    if source == "stream-retries-exhausted":
        info = (letter.parsed or {})["DDBStreamBatchInfo"]
        return (
            f"re-read stream records {info.get('startSequenceNumber')}..{info.get('endSequenceNumber')} "
            "and invoke the detector"
        )
    return None


def _execute(targets: Targets, letter: DeadLetter) -> str:
    body = letter.parsed or {}
    source = letter.source
    if source in ("sender", "max-receive-count"):
        payload: dict[str, Any] = body.get("payload", {}) if source == "sender" else {"body": letter.body}
        message = payload.get("body")
        attributes = payload.get("attributes")
        group = (attributes.get("MessageGroupId") if isinstance(attributes, dict) else None) or letter.group
        if not isinstance(message, str) or not group:
            raise RedriveFailed("the parked message has no body or message group to requeue")
        fresh_id = hashlib.sha256(f"{letter.message_id}\x1f{message}".encode()).hexdigest()
        _aws(
            lambda: targets.sqs.send_message(
                QueueUrl=targets.notification_queue_url,
                MessageBody=message,
                MessageGroupId=group,
                MessageDeduplicationId=fresh_id,
            )
        )
        return "requeued"
    if source == "detector":
        return _invoke_detector(targets, [body["payload"]])
    info = body["DDBStreamBatchInfo"]
    records = _stream_records(targets, info)
    if not records:
        raise RedriveFailed("the records are no longer in the stream (it keeps them 24 h)")
    current = [record for record in records if _record_superseded(targets, record) is None]
    left_out = len(records) - len(current)
    if not current:
        return f"all {left_out} record(s) superseded by later changes; none sent again"
    taken = _invoke_detector(targets, current)
    return f"{taken}; {left_out} superseded by later changes, left out" if left_out else taken


def _invoke_detector(targets: Targets, records: list[dict[str, Any]]) -> str:
    response = _aws(lambda: targets.invoke_detector({"Records": records}))
    failures = response.get("batchItemFailures") or []
    if failures:
        raise RedriveFailed(f"the detector failed {len(failures)} of {len(records)} record(s) again")
    return f"detector took {len(records)} record(s)"


def _stream_records(targets: Targets, info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The batch's records as Lambda delivers them, read again from the shard."""
    start, end = str(info["startSequenceNumber"]), str(info["endSequenceNumber"])
    iterator = _aws(
        lambda: targets.streams.get_shard_iterator(
            StreamArn=info.get("streamArn") or targets.stream_arn,
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=start,
        )
    ).get("ShardIterator")
    records: list[dict[str, Any]] = []
    while iterator:
        page = _read_page(targets, iterator)
        for raw in page.get("Records", []):
            if int(raw["dynamodb"]["SequenceNumber"]) > int(end):
                return records
            records.append(_as_lambda_record(raw, str(info.get("streamArn") or targets.stream_arn)))
        if not page.get("Records"):
            return records
        iterator = page.get("NextShardIterator")
    return records


def _read_page(targets: Targets, iterator: str) -> dict[str, Any]:
    page: dict[str, Any] = _aws(lambda: targets.streams.get_records(ShardIterator=iterator, Limit=100))
    return page


def _as_lambda_record(raw: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    # GetRecords returns what Lambda delivers, except that boto3 turns the creation time into a
    # datetime; Lambda sends epoch seconds and adds the stream's ARN.
    record: dict[str, Any] = json.loads(json.dumps(dict(raw), default=_json_default))
    created = raw["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        record["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
    record["eventSourceARN"] = stream_arn
    return record


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _aws(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except (ClientError, BotoCoreError) as error:
        raise RedriveFailed(f"{type(error).__name__}: {error}") from error


def aws_targets(stack_name: str, region: str | None) -> Targets:
    """The deployed stack's queues and detector, found through its CloudFormation outputs."""
    import boto3  # noqa: PLC0415 - only this path talks to real AWS

    session = boto3.session.Session(region_name=region)
    try:
        stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" not in str(error):
            raise  # credentials, network: the CLI turns those into one line with the fix
        raise RedriveFailed(
            f"stack {stack_name} not found in region {session.region_name}: check --stack-name and --region"
        ) from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    lambda_client = session.client("lambda")

    def invoke(event: dict[str, Any]) -> Mapping[str, Any]:
        response = lambda_client.invoke(
            FunctionName=outputs["DetectorFunctionArn"],
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
        payload = response["Payload"].read().decode()
        if response.get("FunctionError"):
            raise RedriveFailed(f"the detector failed: {payload[:300]}")
        return json.loads(payload) if payload else {}

    return Targets(
        sqs=session.client("sqs"),
        notification_queue_url=outputs["NotificationQueueUrl"],
        notification_dead_letter_queue_url=outputs["NotificationDeadLetterQueueUrl"],
        stream_dead_letter_queue_url=outputs["StreamDeadLetterQueueUrl"],
        invoke_detector=invoke,
        streams=session.client("dynamodbstreams"),
        stream_arn=outputs["AppointmentsTableStreamArn"],
        dynamodb=session.client("dynamodb"),
        appointments_table=outputs["AppointmentsTableName"],
    )


def local_targets(runtime: LocalRuntime) -> Targets:
    """The local stack's queues, and its detector run in-process as the runtime runs it."""
    stack = runtime.stack
    detector = runtime.function("DetectorFunction")

    def invoke(event: dict[str, Any]) -> Mapping[str, Any]:
        invocation = detector.invoke(event)
        if invocation.error is not None:
            raise RedriveFailed(f"the detector failed: {type(invocation.error).__name__}: {invocation.error}")
        return dict(invocation.response or {})

    return Targets(
        sqs=stack.clients("sqs"),
        notification_queue_url=stack.ref("NotificationQueue"),
        notification_dead_letter_queue_url=stack.ref("NotificationDeadLetterQueue"),
        stream_dead_letter_queue_url=stack.ref("StreamDeadLetterQueue"),
        invoke_detector=invoke,
        streams=stack.clients("dynamodbstreams"),
        stream_arn=stack.attribute("AppointmentsTable", "StreamArn"),
        dynamodb=stack.clients("dynamodb"),
        appointments_table=runtime.appointments_table(),
    )


def format_outcomes(outcomes: list[Outcome], *, dry_run: bool) -> str:
    if not outcomes:
        return "No dead letters.\n"
    lines = []
    for outcome in outcomes:
        letter = outcome.letter
        lines.append(f"[{letter.queue}] {letter.source}: {letter.reason}")
        if outcome.superseded is not None:
            removed = "stays in the queue (dry run)" if dry_run else "removed from the queue"
            lines.append(f"    superseded: {outcome.superseded}; not sent again, {removed}")
            continue
        status = "would" if dry_run else ("moved" if outcome.moved else "kept")
        lines.append(f"    {status}: {outcome.action}" + (f" ({outcome.detail})" if outcome.detail else ""))
    moved = sum(outcome.moved for outcome in outcomes)
    summary = (
        f"{len(outcomes)} dead letter(s); dry run, nothing changed."
        if dry_run
        else f"{moved} of {len(outcomes)} dead letter(s) moved back; the rest stay in their queues."
    )
    return "\n".join([*lines, summary]) + "\n"
