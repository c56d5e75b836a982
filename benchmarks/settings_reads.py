"""Benchmark: one settings read per batch (what the detector does) against one per record.

Runs the real detector over the same stream batches twice, side by side on moto: once with the
batch-wide BatchGetItem it uses, once with a settings source that reads per record, the pattern
the issue rules out. Prints DynamoDB requests and wall time per batch, and their ratios.

    .venv/bin/python -m benchmarks.settings_reads [--batches 20] [--records 100] [--calendars 10]
"""

from __future__ import annotations

import os

# Powertools reads these when its Metrics and Logger are first built, at import time.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Benchmark")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

import argparse
import contextlib
import copy
import io
import json
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from practitioner_alerts.adapters.dynamodb import (
    CachedCalendarSettings,
    CalendarSettingsTable,
    InvalidSettings,
)
from practitioner_alerts.adapters.sqs import QueueOutcome
from practitioner_alerts.detector import AlertDetector
from practitioner_alerts.domain.settings import CalendarSettings

EVENTS = Path(__file__).resolve().parents[1] / "events"
REGION = "eu-central-1"


class PerRecordSettings:
    """The anti-pattern: one GetItem for every record's calendar."""

    def __init__(self, table: CalendarSettingsTable) -> None:
        self.table = table

    def get_many(self, calendar_ids: Iterable[str]) -> dict[str, CalendarSettings | InvalidSettings]:
        return {}

    def settings_for_record(self, calendar_id: str) -> CalendarSettings | None:
        return self.table.get(calendar_id)


class PerRecordDetector(AlertDetector):
    """The detector, except that it asks for settings record by record."""

    def _read_settings_once(self, records: Any) -> Any:
        batch = super()._read_settings_once([])
        source = self.settings
        assert isinstance(source, PerRecordSettings)
        for record in records:
            calendar_id = record["dynamodb"]["NewImage"]["calendar_id"]["S"]
            settings = source.settings_for_record(calendar_id)
            if settings:
                batch.settings[calendar_id] = settings
        return batch


class NullQueue:
    def enqueue_in_order(self, per_record: Any, time_for_a_call: Any = None) -> QueueOutcome:
        return QueueOutcome()


class NullParking:
    def park(self, **_: Any) -> None:
        return None


def batch_of(records: int, calendars: int, offset: int) -> dict[str, Any]:
    template = json.loads((EVENTS / "stream-online-booking.json").read_text("utf-8"))["Records"][0]
    out = []
    for index in range(records):
        record = copy.deepcopy(template)
        appointment = f"apt-{offset}-{index}"
        record["eventID"] = appointment
        record["dynamodb"]["SequenceNumber"] = str(offset * records + index + 1)
        record["dynamodb"]["Keys"]["appointment_id"] = {"S": appointment}
        record["dynamodb"]["NewImage"]["appointment_id"] = {"S": appointment}
        record["dynamodb"]["NewImage"]["calendar_id"] = {"S": f"cal-{index % calendars}"}
        out.append(record)
    return {"Records": out}


def run(detector: AlertDetector, batches: list[dict[str, Any]], counter: dict[str, int]) -> tuple[int, float]:
    counter["requests"] = 0
    started = time.perf_counter()
    # Powertools flushes EMF metric lines to stdout every 100 values; keep them off the table.
    with contextlib.redirect_stdout(io.StringIO()):
        for event in batches:
            response = detector.handle(event, None)
            assert response == {"batchItemFailures": []}, response
    return counter["requests"], time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--calendars", type=int, default=10)
    args = parser.parse_args(argv)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="settings",
            KeySchema=[{"AttributeName": "calendar_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "calendar_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        counter = {"requests": 0}
        dynamodb.meta.events.register(
            "before-call.dynamodb.*", lambda **_: counter.__setitem__("requests", counter["requests"] + 1)
        )
        table = CalendarSettingsTable(dynamodb, "settings")
        for index in range(args.calendars):
            table.put(CalendarSettings(calendar_id=f"cal-{index}", alert_email=f"p{index}@example.com"))
        batches = [batch_of(args.records, args.calendars, n) for n in range(args.batches)]
        common = {
            "queue": NullQueue(),
            "parking": NullParking(),
            "window": timedelta(hours=24),
            "in_app_feed": True,
        }
        # ttl 0: no cache across batches, so both sides read settings for every batch.
        per_batch = AlertDetector(settings=CachedCalendarSettings(table, ttl_seconds=0), **common)
        per_record = PerRecordDetector(settings=PerRecordSettings(table), **common)  # type: ignore[arg-type]
        run(per_batch, batches[:2], counter)  # warm both paths up
        run(per_record, batches[:2], counter)
        batch_requests, batch_seconds = run(per_batch, batches, counter)
        record_requests, record_seconds = run(per_record, batches, counter)
    n = args.batches
    print(f"{n} batches x {args.records} records over {args.calendars} calendars (moto, in-process)")
    print(f"{'':24}{'requests/batch':>16}{'ms/batch':>12}")
    print(f"{'one read per batch':24}{batch_requests / n:>16.1f}{batch_seconds / n * 1000:>12.1f}")
    print(f"{'one read per record':24}{record_requests / n:>16.1f}{record_seconds / n * 1000:>12.1f}")
    print(
        f"ratio per-record / per-batch: requests {record_requests / batch_requests:.1f}x, "
        f"time {record_seconds / batch_seconds:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
