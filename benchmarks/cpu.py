"""CPU time of the detector and the sender against a JSON floor, measured side by side.

The detector gets realistic 1,000-record stream batches (`benchmarks.workload`); the sender gets
10-message queue batches made of what the detector queued. Both run on their production
adapters over in-memory boto3 stand-ins (`benchmarks.fake_aws`), with Powertools logging at
INFO into /dev/null, so the figures are our code's and not moto's or the network's.

The floor is the least any implementation must do with the same data: for the detector,
``json.loads`` of the event plus ``json.dumps`` of every message it queues; for the sender,
``json.loads`` of its event plus ``json.dumps`` of what it hands SNS, SES and the feed table.
Runs alternate between the code and its floor and the medians are compared, so the ratio does
not depend on how busy this machine is.

    .venv/bin/python -m benchmarks.cpu [--records 1000] [--samples 15]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from benchmarks.fake_aws import FakeAwsClient
from benchmarks.workload import stream_workload
from practitioner_alerts.adapters.dynamodb import (
    AlertsFeedTable,
    CachedCalendarSettings,
    CalendarSettingsTable,
    DeliveryLogTable,
    to_item,
)
from practitioner_alerts.adapters.ses import EmailGateway
from practitioner_alerts.adapters.sns import SmsGateway
from practitioner_alerts.adapters.sqs import DeadLetterQueue, InFlightMessages, NotificationQueue
from practitioner_alerts.detector import AlertDetector
from practitioner_alerts.sender import AlertSender

# Benchmarks call the sender without a Lambda context, so Powertools cannot see the time left.
warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")

QUEUE_URL = "https://sqs.eu-central-1.amazonaws.com/123456789012/practitioner-alerts-NotificationQueue.fifo"
QUEUE_ARN = "arn:aws:sqs:eu-central-1:123456789012:practitioner-alerts-NotificationQueue.fifo"
DLQ_URL = "https://sqs.eu-central-1.amazonaws.com/123456789012/dead-letters.fifo"
SETTINGS_TABLE = "settings"
FEED_TABLE = "feed"
SENDER_BATCH = 10


@dataclass(frozen=True)
class Timing:
    code_ms: float
    floor_ms: float

    @property
    def ratio(self) -> float:
        return self.code_ms / self.floor_ms


@contextlib.contextmanager
def lambda_like_logging() -> Iterator[None]:
    """The functions' root logger at INFO, writing to /dev/null; EMF metric lines too."""
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        Logger(service=os.environ["POWERTOOLS_SERVICE_NAME"], level="INFO", stream=sink)
        yield


def side_by_side(
    code: Callable[[], None], floor: Callable[[], None], samples: int, prepare: Callable[[], None]
) -> Timing:
    """Median thread CPU time of each, the two alternating (and swapping turns) sample by sample."""
    code_times: list[float] = []
    floor_times: list[float] = []

    def timed(run: Callable[[], None], into: list[float]) -> None:
        prepare()
        started = time.thread_time()
        run()
        into.append(time.thread_time() - started)

    for sample in range(samples):
        pair = [(code, code_times), (floor, floor_times)]
        for run, into in pair if sample % 2 == 0 else reversed(pair):
            timed(run, into)
    return Timing(statistics.median(code_times) * 1000, statistics.median(floor_times) * 1000)


def build_detector(
    calendars: list[Any], *, aws: FakeAwsClient | None = None
) -> tuple[AlertDetector, FakeAwsClient]:
    """The detector as deployed, on ``aws`` (by default a stand-in holding ``calendars``)."""
    if aws is None:
        aws = FakeAwsClient({SETTINGS_TABLE: {c.calendar_id: to_item(c.model_dump()) for c in calendars}})
    detector = AlertDetector(
        # No cache across batches (SETTINGS_CACHE_SECONDS 0): every batch pays its settings read.
        settings=CachedCalendarSettings(CalendarSettingsTable(aws, SETTINGS_TABLE), ttl_seconds=0),  # type: ignore[arg-type]
        queue=NotificationQueue(aws, QUEUE_URL),  # type: ignore[arg-type]
        parking=DeadLetterQueue(aws, DLQ_URL),  # type: ignore[arg-type]
        window=timedelta(hours=24),
        in_app_feed=True,
    )
    return detector, aws


def build_sender(
    aws: FakeAwsClient | None = None, *, sms_per_calendar_per_hour: int = 1000, **extra: Any
) -> tuple[AlertSender, FakeAwsClient]:
    """The sender on ``aws``; ``extra`` sets its optional parts (settings, push, clock)."""
    aws = aws or FakeAwsClient()
    sender = AlertSender(
        sms=SmsGateway(aws, "Praxis"),  # type: ignore[arg-type]
        email=EmailGateway(aws, "alerts@example.com", "alerts"),  # type: ignore[arg-type]
        feed=AlertsFeedTable(aws, FEED_TABLE),  # type: ignore[arg-type]
        parking=DeadLetterQueue(aws, DLQ_URL),  # type: ignore[arg-type]
        idempotency_store=DynamoDBPersistenceLayer(table_name="idempotency", boto3_client=aws),
        delivery_log=DeliveryLogTable(aws, "delivery-log"),  # type: ignore[arg-type]
        feed_days=30,
        sms_per_calendar_per_hour=sms_per_calendar_per_hour,
        in_flight=InFlightMessages(aws, QUEUE_URL),  # type: ignore[arg-type]
        **extra,
    )
    return sender, aws


def queue_records(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SendMessageBatch entries as the sender's SQS event source hands them over."""
    return [
        {
            "messageId": f"m-{index}",
            "receiptHandle": f"r-{index}",
            "body": entry["MessageBody"],
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1820000001000",
                "SenderId": "AROAEXAMPLE:detector",
                "ApproximateFirstReceiveTimestamp": "1820000001050",
                "SequenceNumber": str(18888000000000000000 + index),
                "MessageGroupId": entry["MessageGroupId"],
                "MessageDeduplicationId": entry["MessageDeduplicationId"],
            },
            "messageAttributes": {
                "channel": {
                    "stringValue": entry["MessageAttributes"]["channel"]["StringValue"],
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String",
                }
            },
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": QUEUE_ARN,
            "awsRegion": "eu-central-1",
        }
        for index, entry in enumerate(entries)
    ]


def _entries_of(aws: FakeAwsClient, event_text: str, detector: AlertDetector) -> list[dict[str, Any]]:
    aws.requests.clear()
    detector.handle(json.loads(event_text), None)
    return [e for op, p in aws.requests if op == "SendMessageBatch" for e in p["Entries"]]


def _queues_something(detector: AlertDetector, *, aws: FakeAwsClient, record: dict[str, Any]) -> bool:
    return bool(_entries_of(aws, json.dumps({"Records": [record]}), detector))


def _median_ms(run: Callable[[], object], samples: int) -> float:
    times = []
    for _ in range(samples):
        started = time.thread_time()
        run()
        times.append(time.thread_time() - started)
    return statistics.median(times) * 1000


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def measure(records: int = 1000, samples: int = 15) -> dict[str, Any]:
    workload = stream_workload(records)
    event_text = json.dumps(workload.event())
    with lambda_like_logging():
        detector, detector_aws = build_detector(workload.calendars)
        response = detector.handle(json.loads(event_text), None)
        assert response == {"batchItemFailures": []}, response
        entries = [e for op, p in detector_aws.requests if op == "SendMessageBatch" for e in p["Entries"]]
        messages = [json.loads(entry["MessageBody"]) for entry in entries]
        event: dict[str, Any] = {}

        def fresh_event() -> None:
            nonlocal event
            event = json.loads(event_text)

        def detect() -> None:
            detector.handle(event, None)

        def detector_floor() -> None:
            json.loads(event_text)
            for message in messages:
                json.dumps(message)

        detector_timing = side_by_side(detect, detector_floor, samples, fresh_event)

        sender, sender_aws = build_sender()
        batches = [
            json.dumps({"Records": queue_records(entries[start : start + SENDER_BATCH])})
            for start in range(0, len(entries), SENDER_BATCH)
        ]
        sender_aws.requests.clear()
        for text in batches:
            assert sender.handle(json.loads(text), None) == {"batchItemFailures": []}
        delivered = [
            _json_safe(copy.deepcopy(params))
            for op, params in sender_aws.requests
            if op in {"Publish", "SendEmail"} or (op == "put_item" and params["TableName"] == FEED_TABLE)
        ]
        sender_events: list[dict[str, Any]] = []

        def fresh_events() -> None:
            nonlocal sender_events
            sender_events = [json.loads(text) for text in batches]

        def send() -> None:
            for batch in sender_events:
                sender.handle(batch, None)

        def sender_floor() -> None:
            for text in batches:
                json.loads(text)
            for request in delivered:
                json.dumps(request)

        sender_timing = side_by_side(send, sender_floor, max(3, samples // 3), fresh_events)

        # What one invocation costs when traffic is low: one record, one alert's notifications.
        alert = next(
            i
            for i, r in enumerate(workload.records)
            if _queues_something(detector, aws=detector_aws, record=r)
        )
        one_record = json.dumps({"Records": [workload.records[alert]]})
        one_alert = json.dumps({"Records": queue_records(_entries_of(detector_aws, one_record, detector))})
        detector_one_ms = _median_ms(lambda: detector.handle(json.loads(one_record), None), samples)
        sender_one_ms = _median_ms(lambda: sender.handle(json.loads(one_alert), None), samples)
    return {
        "records": len(workload.records),
        "messages": len(messages),
        "detector_ms": detector_timing.code_ms,
        "detector_floor_ms": detector_timing.floor_ms,
        "detector_cpu_ratio": detector_timing.ratio,
        "sender_batches": len(batches),
        "sender_ms": sender_timing.code_ms,
        "sender_floor_ms": sender_timing.floor_ms,
        "sender_cpu_ratio": sender_timing.ratio,
        "detector_one_record_ms": detector_one_ms,
        "sender_one_alert_ms": sender_one_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args(argv)
    result = measure(args.records, args.samples)
    print(f"detector: {result['records']} records -> {result['messages']} messages")
    print(
        f"  {result['detector_ms']:.1f} ms CPU vs floor {result['detector_floor_ms']:.1f} ms: "
        f"x{result['detector_cpu_ratio']:.2f}"
    )
    print(f"sender: {result['sender_batches']} batches of up to {SENDER_BATCH}")
    print(
        f"  {result['sender_ms']:.1f} ms CPU vs floor {result['sender_floor_ms']:.1f} ms: "
        f"x{result['sender_cpu_ratio']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
