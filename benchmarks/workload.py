"""The benchmarks' workload: the booking platform's writes as `make chaos` generates them.

A mix of online and practice bookings, late and early cancellations and reschedules, edits,
deletions and TTL expiries over calendars with every combination of contacts. The stream
records come from writing them to the local stack's appointments table, so they have exactly
the shape (and pass exactly the filter) that Lambda would hand the detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.chaos import SCENARIO_CLOCK, Plan, make_plan, write_to_table
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.triggers import lambda_stream_record

CALENDARS = 200
SEED = 20270908


@dataclass(frozen=True)
class StreamWorkload:
    plan: Plan
    records: list[dict[str, Any]]  # as Lambda delivers them, filtered as the template says

    @property
    def calendars(self) -> list[CalendarSettings]:
        return [calendar.settings for calendar in self.plan.calendars if calendar.stored]

    def event(self, start: int = 0, size: int | None = None) -> dict[str, Any]:
        end = len(self.records) if size is None else start + size
        return {"Records": self.records[start:end]}


def stream_workload(changes: int, *, calendars: int = CALENDARS, seed: int = SEED) -> StreamWorkload:
    """``changes`` platform writes and the stream records the detector would get for them."""
    plan = make_plan(changes, calendars, seed)
    with LocalRuntime.embedded(clock=SCENARIO_CLOCK.timestamp) as runtime:
        dynamodb, table = runtime.clients("dynamodb"), runtime.appointments_table()
        for write in plan.writes:
            write_to_table(dynamodb, table, write)
        (mapping,) = runtime.stack.stream_mappings()
        streams = runtime.clients("dynamodbstreams")
        shard = streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"][0]
        iterator = streams.get_shard_iterator(
            StreamArn=mapping.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        while True:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            for raw in page["Records"]:
                record = lambda_stream_record(raw, runtime.clients.region, mapping.stream_arn)
                if mapping.filters.matches(record):
                    records.append(record)
            iterator = page["NextShardIterator"]
    return StreamWorkload(plan, records)
