"""The whole pipeline on the local runtime: AWS calls against the design's floor, and latency.

**Calls.** The booking platform's writes (`benchmarks.workload`) go into the appointments table
and the pipeline drains. Every AWS call the functions make is counted with a botocore
``before-parameter-build`` hook on boto3's default session (the one their clients come from), but only
while one of them is being invoked, so the trigger emulation's own polling and deleting is not
counted. The floor is what the design cannot do without: ``ceil(messages / 10)`` queue sends,
one settings read per stream batch, per delivered message two idempotency writes plus the
delivery itself (SNS, SES, or the feed table's write for the in-calendar alert), and per SMS and
e-mail one more settings read (the sender's check that the contact is still the calendar's).

**Latency.** The same writes at a steady rate, in real time, with the stream polled four times
a second as Lambda polls a shard and the queue read as soon as it has messages; the template's
own batching settings apply. From each PutItem/UpdateItem to SNS or SES accepting its SMS or
e-mail; the patient's name carries a token that ties the accepted text to its write.

    .venv/bin/python -m benchmarks.pipeline [--changes 1000] [--latency-changes 300] [--rate 10]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import phonenumbers

from benchmarks.workload import CALENDARS, SEED
from practitioner_alerts.rendering.sms import count_segments
from practitioner_alerts_local.chaos import (
    SCENARIO_CLOCK,
    TOKEN,
    accepted_text,
    make_plan,
    write_to_table,
)
from practitioner_alerts_local.runtime import LocalRuntime

STREAM_POLLS_PER_SECOND = 4  # Lambda reads each shard four times a second
DELIVERIES = {("sns", "Publish"), ("sesv2", "SendEmail")}


@dataclass
class CallCounter:
    """AWS calls the functions make, by function and ``service.Operation``."""

    calls: Counter[str] = field(default_factory=Counter)
    by_function: dict[str, Counter[str]] = field(default_factory=dict)
    invocations: Counter[str] = field(default_factory=Counter)
    cpu_seconds: Counter[str] = field(default_factory=Counter)
    queued_messages: int = 0
    accepted: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, text)
    sms_segments: Counter[str] = field(default_factory=Counter)  # by the number's country
    emails: int = 0
    tables: dict[str, str] = field(default_factory=dict)  # physical name -> logical id
    log_bytes: Counter[str] = field(default_factory=Counter)  # what each function wrote
    # The exactly-once window: from SNS/SES accepting a message to its idempotency record's
    # completion (the next UpdateItem on the idempotency table), in seconds.
    send_windows: list[float] = field(default_factory=list)
    _accepted_at: float | None = None
    _function: str | None = None

    def scope(self, name: str) -> Any:
        @contextlib.contextmanager
        def invocation() -> Iterator[None]:
            self._function = name
            self.invocations[name] += 1
            started = time.thread_time()
            try:
                yield
            finally:
                self.cpu_seconds[name] += time.thread_time() - started
                self._function = None

        return invocation

    def before_parameter_build(
        self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        if self._function is None:
            return
        service, operation = model.service_model.service_id.hyphenize(), model.name
        table = params.get("TableName") or next(iter(params.get("RequestItems") or {}), None)
        where = f"@{self.tables.get(str(table), table)}" if service == "dynamodb" and table else ""
        self.calls[f"{service}.{operation}{where}"] += 1
        self.by_function.setdefault(self._function, Counter())[f"{service}.{operation}{where}"] += 1
        if (service, operation) == ("sqs", "SendMessageBatch"):
            self.queued_messages += len(params.get("Entries", []))
        context["bench_params"] = params

    def after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.get("bench_params")
        if params is None or "Error" in parsed:
            return
        service, operation = model.service_model.service_id.hyphenize(), model.name
        table = self.tables.get(str(params.get("TableName")))
        completion = (service, operation, table) == ("dynamodb", "UpdateItem", "IdempotencyTable")
        if completion and self._accepted_at:
            self.send_windows.append(time.monotonic() - self._accepted_at)
            self._accepted_at = None
        if (service, operation) in DELIVERIES:
            text = accepted_text(service, params)
            self._accepted_at = time.monotonic()
            self.accepted.append((self._accepted_at, text))
            if service == "sns":
                number = phonenumbers.parse(str(params["PhoneNumber"]))
                country = phonenumbers.region_code_for_number(number) or "unknown"
                self.sms_segments[country] += count_segments(str(params["Message"])).segments
            else:
                self.emails += 1

    @contextlib.contextmanager
    def installed(self, runtime: LocalRuntime) -> Iterator[CallCounter]:
        session = boto3._get_default_session()
        session.events.register(
            "before-parameter-build", self.before_parameter_build, unique_id="bench-before"
        )
        session.events.register("after-call", self.after_call, unique_id="bench-after")
        for logical_id in ("DetectorFunction", "SenderFunction"):
            runtime.function(logical_id).invocation_scope = self.scope(logical_id)
        self.tables = {
            runtime.stack.ref(logical_id): logical_id
            for logical_id, resource in runtime.stack.template.resources.items()
            if resource.get("Type") == "AWS::DynamoDB::Table"
        }
        try:
            yield self
        finally:
            session.events.unregister("before-parameter-build", unique_id="bench-before")
            session.events.unregister("after-call", unique_id="bench-after")


@dataclass(frozen=True)
class CallEconomy:
    changes: int
    calls: dict[str, int]
    calls_by_function: dict[str, dict[str, int]]  # by logical id
    detector_invocations: int
    sender_invocations: int
    messages: int
    delivered: int
    floor: int
    detector_cpu_ms: float
    sender_cpu_ms: float
    alerting_changes: int
    sms_segments_by_country: dict[str, int]
    emails: int
    log_bytes: dict[str, int]  # by function: its Powertools JSON lines and EMF metric lines
    # events the sender published to the real-time endpoint, and the feed entries they carry
    pushes: int = 0
    feed_entries: int = 0
    send_windows_ms: tuple[float, ...] = ()  # acceptance -> idempotency completion, each message

    @property
    def send_window_ms(self) -> dict[str, float]:
        """p50, p99 and the longest window in which a lost response could send a message twice."""
        ordered = sorted(self.send_windows_ms)
        if not ordered:
            return {}
        pick = lambda q: ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]  # noqa: E731
        return {"p50": round(pick(0.5), 2), "p99": round(pick(0.99), 2), "max": round(ordered[-1], 2)}

    @property
    def pushes_per_feed_entry(self) -> float:
        """Pushes per feed entry written; exactly 1 unless a push failed or a message came again."""
        return self.pushes / self.feed_entries if self.feed_entries else math.nan

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def ratio(self) -> float:
        return self.total / self.floor


def call_economy(changes: int, *, calendars: int = CALENDARS, seed: int = SEED) -> CallEconomy:
    plan = make_plan(changes, calendars, seed)
    counter = CallCounter()
    logs = _ByteCounter(counter)
    with (
        LocalRuntime.embedded(clock=SCENARIO_CLOCK.timestamp, lambda_logs=logs) as runtime,
        counter.installed(runtime),
    ):
        runtime.put_calendars(calendar.settings for calendar in plan.calendars if calendar.stored)
        dynamodb, table = runtime.clients("dynamodb"), runtime.appointments_table()
        for write in plan.writes:
            write_to_table(dynamodb, table, write)
        runtime.drain()
        feed_writes = len(runtime.feed())
        pushes = runtime.realtime.published if runtime.realtime else 0
    delivered = len(counter.accepted) + feed_writes
    detector_batches = counter.invocations["DetectorFunction"]
    # The sender reads the settings before each SMS and e-mail, so that a contact deleted while
    # its alert waited in the queue gets nothing: a read the design needs, hence in the floor.
    floor = math.ceil(counter.queued_messages / 10) + detector_batches + 3 * delivered + len(counter.accepted)
    return CallEconomy(
        changes=len(plan.writes),
        calls=dict(sorted(counter.calls.items())),
        calls_by_function={name: dict(sorted(c.items())) for name, c in counter.by_function.items()},
        detector_invocations=detector_batches,
        sender_invocations=counter.invocations["SenderFunction"],
        messages=counter.queued_messages,
        delivered=delivered,
        floor=floor,
        detector_cpu_ms=counter.cpu_seconds["DetectorFunction"] * 1000,
        sender_cpu_ms=counter.cpu_seconds["SenderFunction"] * 1000,
        alerting_changes=sum(1 for write in plan.writes if write.alert),
        sms_segments_by_country=dict(counter.sms_segments),
        emails=counter.emails,
        log_bytes=dict(counter.log_bytes),
        pushes=pushes,
        feed_entries=feed_writes,
        send_windows_ms=tuple(window * 1000 for window in counter.send_windows),
    )


class _ByteCounter(io.TextIOBase):
    """Where the functions' output goes: only its size is kept, by the function writing it."""

    def __init__(self, counter: CallCounter) -> None:
        self._counter = counter

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._counter.log_bytes[self._counter._function or "runtime"] += len(text.encode("utf-8"))
        return len(text)


@dataclass(frozen=True)
class Latency:
    changes: int
    rate_per_second: float
    delivered: int
    p50_s: float
    p99_s: float
    max_s: float
    batching_window_s: float
    invocations: dict[str, int]  # by function, at this steady rate
    log_bytes: dict[str, int]  # by function


def latency(
    changes: int,
    rate_per_second: float,
    *,
    batching_window: float | None = None,
    calendars: int = CALENDARS,
    seed: int = SEED,
) -> Latency:
    """``batching_window``: a what-if for the stream's MaximumBatchingWindowInSeconds; by
    default the template's own applies."""
    plan = make_plan(changes, calendars, seed)
    counter = CallCounter()
    put_at: dict[tuple[int, int], float] = {}
    mappings = (
        None
        if batching_window is None
        else lambda stack: [
            replace(mapping, batching_window_seconds=batching_window) for mapping in stack.stream_mappings()
        ]
    )
    logs = _ByteCounter(counter)
    with (
        LocalRuntime.embedded(
            clock=SCENARIO_CLOCK.timestamp, stream_mappings=mappings, lambda_logs=logs
        ) as runtime,
        counter.installed(runtime),
    ):
        runtime.put_calendars(calendar.settings for calendar in plan.calendars if calendar.stored)
        dynamodb, table = runtime.clients("dynamodb"), runtime.appointments_table()
        (stream,) = runtime.stream_pollers
        started = time.monotonic()
        next_poll = started
        pending = list(plan.writes)
        while pending or not stream.idle:
            now = time.monotonic()
            while pending and started + (len(plan.writes) - len(pending)) / rate_per_second <= now:
                write = pending.pop(0)
                write_to_table(dynamodb, table, write)
                put_at[(write.appointment, write.number)] = time.monotonic()
            if now >= next_poll:
                next_poll = now + 1 / STREAM_POLLS_PER_SECOND
                stream.read_shard()
                while stream.poll(drain=False):
                    pass
                for queue in runtime.queue_pollers:
                    while queue.poll(drain=False):
                        pass
            time.sleep(max(0.0, next_poll - time.monotonic()) / 4)
        runtime.drain()  # anything still held (nothing, normally)
        batching_window = stream.config.batching_window_seconds
    delays = []
    for accepted_at, text in counter.accepted:
        token = TOKEN.search(text)
        if token is not None and (key := (int(token.group(1)), int(token.group(2)))) in put_at:
            delays.append(accepted_at - put_at[key])
    delays.sort()
    return Latency(
        changes=len(plan.writes),
        rate_per_second=rate_per_second,
        delivered=len(delays),
        p50_s=statistics.median(delays) if delays else math.nan,
        p99_s=delays[min(len(delays) - 1, math.ceil(0.99 * len(delays)) - 1)] if delays else math.nan,
        max_s=delays[-1] if delays else math.nan,
        batching_window_s=batching_window,
        invocations=dict(counter.invocations),
        log_bytes=dict(counter.log_bytes),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--latency-changes", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="writes per second for the latency run")
    parser.add_argument("--batching-window", type=float, help="what-if for the stream's batching window (s)")
    args = parser.parse_args(argv)
    economy = call_economy(args.changes)
    print(
        f"{economy.changes} changes -> {economy.messages} messages queued, {economy.delivered} delivered; "
        f"{economy.detector_invocations} detector and {economy.sender_invocations} sender invocations"
    )
    for call, count in economy.calls.items():
        print(f"  {call:32}{count:>7}")
    print(f"AWS calls {economy.total} vs floor {economy.floor}: x{economy.ratio:.3f}")
    result = latency(args.latency_changes, args.rate, batching_window=args.batching_window)
    print(
        f"latency, {result.changes} changes at {result.rate_per_second:g}/s, batching window "
        f"{result.batching_window_s:g} s: p50 {result.p50_s:.2f} s, p99 {result.p99_s:.2f} s, "
        f"max {result.max_s:.2f} s over {result.delivered} SMS/e-mails"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
