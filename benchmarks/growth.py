"""Growth: the detector's and the sender's work per change at 1k, 10k and 100k changes.

`make chaos`'s mix (`benchmarks.workload`: 1,000 changes written through the local stack, so the
records have exactly Lambda's shape) is replicated over a national calendar population: 100,000
calendars, a few of them very hot (vaccination centres taking hundreds of bookings an hour).
Every copy of a change gets its own appointment id, so it is new to the pipeline; an appointment
keeps its calendar; a calendar is a copy of one of the workload's, contacts and all.

The detector gets every change in stream batches of 100 (the template's BatchSize), the sender
what it queued in batches of 10, both on their production adapters over counting in-memory AWS
stand-ins (`benchmarks.fake_aws`), settings cache as deployed (none across batches), the SMS cap
as the template's default. Each size runs in a fresh interpreter, so its peak memory is its own.
Per change: CPU time inside the handlers (thread time; building events is not counted), AWS
calls, settings reads (the detector's BatchGetItem requests and the keys in them, the sender's
GetItem before each SMS and e-mail), and peak RSS of the process.

Above `SENDER_FULL_UP_TO` changes the sender runs on a systematic sample of its batches (every
k-th) so that 100k changes take a few minutes; its calls and CPU are scaled by k. The detector
always gets every change.

    .venv/bin/python -m benchmarks.growth [--sizes 1000,10000,100000] [--calendars 100000]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import multiprocessing
import resource
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import cpu
from benchmarks.fake_aws import FakeAwsClient
from benchmarks.workload import stream_workload
from practitioner_alerts.adapters.dynamodb import CalendarSettingsTable, _validated_settings, to_item

STREAM_BATCH = 100  # the template's BatchSize for the stream
TEMPLATE_CHANGES = 1000
SENDER_FULL_UP_TO = 20_000
# What makes a calendar hot: bookings an hour, against the platform's 1,000 changes a second.
HOT_BOOKINGS_PER_HOUR = 300
WARM_UP = 10**6  # copy number of the warm-up's appointments, far from any measured one
PLATFORM_CHANGES_PER_HOUR = 1000 * 3600


@dataclass(frozen=True)
class Mix:
    calendars: int  # the national population
    hot: int  # how many of them are hot
    share: float | None = None  # of all changes going to the hot ones; None: as HOT_BOOKINGS_PER_HOUR says

    @property
    def hot_share(self) -> float:
        """Share of all changes that go to the hot calendars together."""
        if self.share is not None:
            return self.share
        return self.hot * HOT_BOOKINGS_PER_HOUR / PLATFORM_CHANGES_PER_HOUR


NATIONAL = Mix(calendars=100_000, hot=5)


def calendar_for(base: str, appointment: str, replica: int, mix: Mix, bases: int) -> str:
    """The calendar of ``appointment``'s copy number ``replica``: stable for the appointment, a
    copy of its workload calendar ``base``, or one of the hot ones."""
    draw = zlib.crc32(f"{appointment}/{replica}".encode())
    if draw % 1_000_000 < mix.hot_share * 1_000_000 or mix.hot_share >= 1:
        return f"hot-{draw % mix.hot}"
    return f"{base}~{draw % max(1, mix.calendars // bases)}"


class ClonedSettings(Mapping[str, dict[str, Any]]):
    """The settings table of the national population, made on demand from the workload's: the
    item of ``cal-0012~345`` is ``cal-0012``'s with its own id; ``hot-N`` copies one calendar that
    has SMS and e-mail. Nothing is held per calendar, so memory is the functions' own."""

    def __init__(self, stored: Mapping[str, dict[str, Any]], hot_base: str) -> None:
        self._stored = stored
        self._hot_base = hot_base

    def __getitem__(self, calendar_id: str) -> dict[str, Any]:
        base = self._hot_base if calendar_id.startswith("hot-") else calendar_id.partition("~")[0]
        return {**self._stored[base], "calendar_id": {"S": calendar_id}}

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError("the population is made on demand, not listed")

    def __len__(self) -> int:
        raise NotImplementedError("the population is made on demand, not counted")


class CountingAws(FakeAwsClient):
    """The stand-in, counting calls by ``Operation@table`` and forgetting requests once read."""

    def __init__(self, tables: Mapping[str, Mapping[str, dict[str, Any]]]) -> None:
        super().__init__(tables)
        self.by_call: Counter[str] = Counter()
        self.settings_keys = 0

    def _record(self, operation: str, params: dict[str, Any]) -> None:
        super()._record(operation, params)
        table = params.get("TableName") or next(iter(params.get("RequestItems") or {}), "")
        self.by_call[f"{operation}@{table}" if table else operation] += 1
        if operation == "BatchGetItem":
            self.settings_keys += sum(len(r["Keys"]) for r in params["RequestItems"].values())

    def reset(self) -> None:
        """Forget what was counted (after a warm-up)."""
        self.calls.clear()
        self.by_call.clear()
        self.requests.clear()
        self.settings_keys = 0

    def queued(self) -> list[dict[str, Any]]:
        """The entries sent with SendMessageBatch since the last call; requests are dropped."""
        entries = [e for op, p in self.requests if op == "SendMessageBatch" for e in p["Entries"]]
        self.requests.clear()
        return entries


@dataclass
class CountingPush:
    """The in-calendar push: events published, by calendar channel."""

    events: Counter[str] = field(default_factory=Counter)

    def publish(self, channel: str, events: Any) -> None:
        self.events[channel] += len(events)


@dataclass(frozen=True)
class Template:
    records: list[str]  # each stream record as JSON
    appointments: list[str]
    calendars: list[list[str]]  # the calendar ids each record names
    stored: dict[str, dict[str, Any]]  # calendar id -> settings item
    hot_base: str  # a calendar with SMS and e-mail, the model of the hot ones

    @classmethod
    def from_workload(cls, changes: int) -> Template:
        workload = stream_workload(changes)
        stored = {c.calendar_id: to_item(c.model_dump()) for c in workload.calendars}
        hot_base = next(c.calendar_id for c in workload.calendars if c.alert_mobile and c.alert_email)
        calendars = []
        for record in workload.records:
            images = [record["dynamodb"].get(k, {}) for k in ("NewImage", "OldImage")]
            calendars.append(sorted({i["calendar_id"]["S"] for i in images if "calendar_id" in i}))
        return cls(
            records=[json.dumps(r) for r in workload.records],
            appointments=[r["dynamodb"]["Keys"]["appointment_id"]["S"] for r in workload.records],
            calendars=calendars,
            stored=stored,
            hot_base=hot_base,
        )

    def changes(
        self, count: int, mix: Mix, hot_share: float | None = None, first_copy: int = 0
    ) -> Iterator[dict[str, Any]]:
        """``count`` stream records: the template's, copy after copy, each copy its own."""
        bases = len({c.partition("~")[0] for c in self.stored})
        if hot_share is not None:
            mix = replace(mix, share=hot_share)
        for index in range(count):
            replica, at = divmod(index, len(self.records))
            replica += first_copy
            appointment = self.appointments[at]
            text = self.records[at].replace(f'"{appointment}"', f'"{appointment}-r{replica}"')
            for calendar in self.calendars[at]:
                copy = calendar_for(calendar, appointment, replica, mix, bases)
                text = text.replace(f'"{calendar}"', f'"{copy}"')
            yield json.loads(text)


@dataclass(frozen=True)
class FunctionRun:
    """One function's share of one size, measured in a process of its own (as on Lambda)."""

    cpu_ms: float  # scaled to every message where the sender ran on a sample
    calls: dict[str, float]  # "Operation@table", scaled likewise
    settings_keys: int  # calendar keys named in BatchGetItem requests
    validation_hits: int  # settings items found already validated (the LRU)
    validation_misses: int
    baseline_rss_mb: float  # after imports and set-up
    peak_rss_mb: float
    seconds: float
    messages: int = 0  # the detector: notifications queued
    calendars_seen: int = 0  # the detector: distinct calendars in the records
    pushes: float = 0.0  # the sender: in-calendar push events


@dataclass(frozen=True)
class SizeResult:
    changes: int
    sender_sample: int  # the sender ran every k-th batch
    detector: FunctionRun
    sender: FunctionRun

    @property
    def cpu_ms_per_change(self) -> float:
        return (self.detector.cpu_ms + self.sender.cpu_ms) / self.changes

    def row(self) -> dict[str, Any]:
        n, detector, sender = self.changes, self.detector, self.sender
        calls = sum(detector.calls.values()) + sum(sender.calls.values())
        settings = detector.calls.get(f"BatchGetItem@{cpu.SETTINGS_TABLE}", 0.0) + sender.calls.get(
            f"GetItem@{cpu.SETTINGS_TABLE}", 0.0
        )
        hits = detector.validation_hits + sender.validation_hits
        lookups = hits + detector.validation_misses + sender.validation_misses
        return {
            "changes": n,
            "calendars_seen": detector.calendars_seen,
            "cpu_ms_per_change": round(self.cpu_ms_per_change, 4),
            "detector_cpu_ms_per_change": round(detector.cpu_ms / n, 4),
            "sender_cpu_ms_per_message": round(sender.cpu_ms / max(detector.messages, 1), 4),
            "messages_per_change": round(detector.messages / n, 4),
            "aws_calls_per_change": round(calls / n, 4),
            "settings_reads_per_change": round(settings / n, 4),
            "settings_keys_per_change": round(detector.settings_keys / n, 4),
            "validation_hit_rate": round(hits / max(lookups, 1), 4),
            "pushes_per_change": round(sender.pushes / n, 4),
            "detector_peak_rss_mb": round(detector.peak_rss_mb, 1),
            "detector_rss_growth_mb": round(detector.peak_rss_mb - detector.baseline_rss_mb, 1),
            "sender_peak_rss_mb": round(sender.peak_rss_mb, 1),
            "sender_rss_growth_mb": round(sender.peak_rss_mb - sender.baseline_rss_mb, 1),
            "sender_sample": self.sender_sample,
            "seconds": round(detector.seconds + sender.seconds, 1),
        }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _population(template: Template) -> dict[str, Mapping[str, dict[str, Any]]]:
    return {cpu.SETTINGS_TABLE: ClonedSettings(template.stored, template.hot_base)}


def run_detector(template_path: str, changes: int, mix: Mix, queued_path: str, sample: int) -> FunctionRun:
    """Every change through the detector in stream batches; the queued entries of every
    ``sample``-th sender batch go to ``queued_path``, one batch a line."""
    started = time.perf_counter()
    template = Template(**json.loads(Path(template_path).read_text("utf-8")))
    aws = CountingAws(_population(template))
    with cpu.lambda_like_logging(), open(queued_path, "w", encoding="utf-8") as queued:
        detector, _ = cpu.build_detector([], aws=aws)
        # A warm environment: one batch of other appointments first, then nothing of it counts.
        detector.handle({"Records": list(template.changes(STREAM_BATCH, mix, first_copy=WARM_UP))}, None)
        aws.reset()
        _validated_settings.cache_clear()
        baseline = _rss_mb()
        spent = 0.0
        messages = batches = 0
        pending: list[dict[str, Any]] = []
        seen: set[str] = set()
        stream = template.changes(changes, mix)
        while batch := [record for _, record in zip(range(STREAM_BATCH), stream, strict=False)]:
            seen.update(_calendar_of(record) for record in batch)
            event = {"Records": batch}
            begun = time.thread_time()
            response = detector.handle(event, None)
            spent += time.thread_time() - begun
            assert response == {"batchItemFailures": []}, response
            pending += aws.queued()
            while len(pending) >= cpu.SENDER_BATCH or (pending and len(batch) < STREAM_BATCH):
                entries, pending = pending[: cpu.SENDER_BATCH], pending[cpu.SENDER_BATCH :]
                messages += len(entries)
                batches += 1
                if batches % sample == 0:
                    queued.write(json.dumps(entries) + "\n")
    return _function_run(aws, spent, 1, baseline, started, messages=messages, calendars_seen=len(seen - {""}))


def run_sender(template_path: str, queued_path: str, sample: int) -> FunctionRun:
    """The sender over the batches the detector kept, with the template's SMS cap; calls, CPU
    and pushes scaled by ``sample``."""
    started = time.perf_counter()
    template = Template(**json.loads(Path(template_path).read_text("utf-8")))
    aws = CountingAws(_population(template))
    push = CountingPush()
    from benchmarks.cost_model import abuse_limits  # noqa: PLC0415 - reads the template

    with cpu.lambda_like_logging(), open(queued_path, encoding="utf-8") as queued:
        sender, _ = cpu.build_sender(
            aws,
            sms_per_calendar_per_hour=abuse_limits().sms_segments_per_calendar_per_hour,
            settings=CalendarSettingsTable(aws, cpu.SETTINGS_TABLE),  # type: ignore[arg-type]
            push=push,
        )
        lines = iter(queued)
        first = next(lines, None)
        if first is not None:  # a warm environment: the first batch once before, uncounted
            sender.handle({"Records": cpu.queue_records(json.loads(first))}, None)
        aws.reset()
        push.events.clear()
        _validated_settings.cache_clear()
        baseline = _rss_mb()
        spent = 0.0
        for line in itertools.chain([first] if first is not None else [], lines):
            event = {"Records": cpu.queue_records(json.loads(line))}
            begun = time.thread_time()
            response = sender.handle(event, None)
            spent += time.thread_time() - begun
            assert response == {"batchItemFailures": []}, response
            aws.requests.clear()
    return _function_run(
        aws, spent, sample, baseline, started, pushes=float(sum(push.events.values()) * sample)
    )


def _function_run(
    aws: CountingAws, cpu_s: float, sample: int, baseline_mb: float, started: float, **extra: Any
) -> FunctionRun:
    """What ``aws`` counted and the validation cache saw, CPU and calls scaled by ``sample``."""
    info = _validated_settings.cache_info()
    return FunctionRun(
        cpu_ms=cpu_s * 1000 * sample,
        calls={k: float(v * sample) for k, v in sorted(aws.by_call.items())},
        settings_keys=aws.settings_keys,
        validation_hits=info.hits,
        validation_misses=info.misses,
        baseline_rss_mb=baseline_mb,
        peak_rss_mb=_rss_mb(),
        seconds=time.perf_counter() - started,
        **extra,
    )


def service_call(call: str) -> str:
    """``put_item@feed`` or ``PutItem@feed`` -> ``dynamodb.PutItem``: the name AWS bills."""
    operation = call.partition("@")[0]
    if "_" in operation or operation.islower():
        operation = "".join(part.title() for part in operation.split("_"))
    if operation == "Publish":
        return "sns.Publish"
    if operation == "SendEmail":
        return "sesv2.SendEmail"
    return f"{'sqs' if 'Message' in operation else 'dynamodb'}.{operation}"


def _calendar_of(record: dict[str, Any]) -> str:
    image = record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage") or {}
    return str(image.get("calendar_id", {}).get("S", ""))


@dataclass(frozen=True)
class Growth:
    mix: Mix
    sizes: tuple[SizeResult, ...]

    @property
    def table(self) -> list[dict[str, Any]]:
        return [size.row() for size in self.sizes]

    @property
    def cpu_ratio(self) -> float:
        """CPU per change at the largest size over the smallest (goal ≤ 1.2)."""
        return growth_ratio(self.table, "cpu_ms_per_change")

    @property
    def noise(self) -> float:
        """How far the smallest size's two runs (first and last) differ, relative to their mean."""
        smallest = min(row["changes"] for row in self.table)
        runs = [float(row["cpu_ms_per_change"]) for row in self.table if row["changes"] == smallest]
        return round((max(runs) - min(runs)) / (sum(runs) / len(runs)), 3)


def growth_ratio(table: list[dict[str, Any]], key: str) -> float:
    """``key`` at the largest size divided by ``key`` at the smallest; where the smallest ran
    more than once (before and after the others, to bracket a machine whose load drifts), by
    their mean."""
    smallest = min(row["changes"] for row in table)
    largest = max(row["changes"] for row in table)
    first = [row[key] for row in table if row["changes"] == smallest]
    last = [row[key] for row in table if row["changes"] == largest]
    base = sum(first) / len(first)
    return round((sum(last) / len(last)) / base, 3) if base else float("nan")


def super_linear_steps(table: list[dict[str, Any]], tolerance: float = 0.2) -> list[str]:
    """The per-change figures that grow by more than ``tolerance`` from one size to the next
    (a size that ran twice counts with its mean)."""
    keys = ("cpu_ms_per_change", "aws_calls_per_change", "settings_reads_per_change")
    by_size: dict[int, list[dict[str, Any]]] = {}
    for row in table:
        by_size.setdefault(row["changes"], []).append(row)

    def mean(size: int, key: str) -> float:
        return round(sum(float(row[key]) for row in by_size[size]) / len(by_size[size]), 4)

    sizes = sorted(by_size)
    steps = []
    for smaller, larger in itertools.pairwise(sizes):
        for key in keys:
            before, after = mean(smaller, key), mean(larger, key)
            if before and after / before > 1 + tolerance:
                steps.append(f"{key} {before:g} -> {after:g} from {smaller:,} to {larger:,} changes")
    return steps


def _in_a_fresh_interpreter[R](function: Callable[..., R], *args: Any) -> R:
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _here[R](function: Callable[..., R], *args: Any) -> R:
    return function(*args)


def measure(
    sizes: tuple[int, ...],
    mix: Mix = NATIONAL,
    template: Template | None = None,
    *,
    isolated: bool = True,
) -> Growth:
    """Each size through the detector, then the sender. ``isolated`` (the default) runs each
    function and size in a fresh interpreter, as each function has its own on Lambda, so that its
    peak RSS and caches are its own; without it (the smoke run) all run here, in seconds."""
    template = template or Template.from_workload(TEMPLATE_CHANGES)
    run = _in_a_fresh_interpreter if isolated else _here
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        path, queued = str(Path(scratch) / "template.json"), str(Path(scratch) / "queued.jsonl")
        Path(path).write_text(json.dumps(asdict(template)), "utf-8")
        # The smallest size runs again at the end: the machine's load drifts over minutes, and
        # the ratio is taken against the mean of the two runs that bracket the others.
        for size in (*sizes, min(sizes)):
            sample = max(1, size // SENDER_FULL_UP_TO)
            detector = run(run_detector, path, size, mix, queued, sample)
            results.append(SizeResult(size, sample, detector, run(run_sender, path, queued, sample)))
    return Growth(mix, tuple(results))


def describe(growth: Growth) -> str:
    header = (
        f"growth over {growth.mix.calendars:,} calendars ({growth.mix.hot} hot at "
        f"{HOT_BOOKINGS_PER_HOUR} bookings an hour)"
    )
    return header + "\n" + describe_table(growth.table, growth.cpu_ratio)


COLUMNS = (
    ("changes", "changes", "{:,}"),
    ("calendars_seen", "calendars", "{:,}"),
    ("cpu_ms_per_change", "CPU ms/chg", "{:.4f}"),
    ("detector_cpu_ms_per_change", "det ms/chg", "{:.4f}"),
    ("sender_cpu_ms_per_message", "snd ms/msg", "{:.4f}"),
    ("aws_calls_per_change", "AWS/chg", "{:.3f}"),
    ("settings_reads_per_change", "settings/chg", "{:.3f}"),
    ("settings_keys_per_change", "keys/chg", "{:.3f}"),
    ("validation_hit_rate", "valid. hits", "{:.1%}"),
    ("detector_peak_rss_mb", "det. MB", "{:.0f}"),
    ("detector_rss_growth_mb", "det. +MB", "{:.0f}"),
    ("sender_peak_rss_mb", "snd. MB", "{:.0f}"),
    ("sender_rss_growth_mb", "snd. +MB", "{:.0f}"),
    ("sender_sample", "sample", "1/{}"),
)


def describe_table(table: list[dict[str, Any]], cpu_ratio: float) -> str:
    """The growth table as `make bench` prints it, with the ratio and any super-linear step."""
    lines = ["".join(f"{title:>13}" for _, title, _ in COLUMNS)]
    lines += ["".join(f"{fmt.format(row[key]):>13}" for key, _, fmt in COLUMNS) for row in table]
    lines.append(
        f"growth_cpu_ratio {cpu_ratio:.3f} "
        "(CPU per change, largest size / the smallest's two runs; goal ≤ 1.2)"
    )
    steps = super_linear_steps(table)
    lines.append("super-linear steps: " + ("; ".join(steps) if steps else "none above 20%"))
    return "\n".join(lines)


class _KeyCounter:
    """A settings table that counts the keys asked for and has every calendar."""

    def __init__(self) -> None:
        self.keys = 0

    def get_many(self, calendar_ids: Any) -> dict[str, Any]:
        wanted = list(calendar_ids)
        self.keys += len(wanted)
        return dict.fromkeys(wanted, True)


def settings_hit_rate(
    template: Template, changes: int, mix: Mix, *, ttl_seconds: float, changes_per_second: float
) -> float:
    """Share of records whose settings the detector's cache already held (the batch's own read
    shares a key between records, and a time to live keeps it for later batches), for one warm
    environment getting ``changes_per_second``: 1 - keys read / records. Each change draws its
    calendar on its own: one appointment's changes are hours apart, beyond any time to live."""
    from practitioner_alerts.adapters.dynamodb import CachedCalendarSettings  # noqa: PLC0415

    now = [0.0]
    table = _KeyCounter()
    cache = CachedCalendarSettings(table, ttl_seconds=ttl_seconds, clock=lambda: now[0])  # type: ignore[arg-type]
    bases = len({c.partition("~")[0] for c in template.stored})
    batch: list[str] = []
    for index in range(changes):
        replica, at = divmod(index, len(template.records))
        own = f"{template.appointments[at]}#{at}"
        batch += [calendar_for(c, own, replica, mix, bases) for c in template.calendars[at][:1]]
        if len(batch) == STREAM_BATCH or index == changes - 1:
            now[0] = index / changes_per_second
            cache.get_many(batch)
            batch = []
    return round(1 - table.keys / changes, 4)


@dataclass(frozen=True)
class HotHour:
    """One hot calendar's busiest hour through the detector and the sender, with the template's
    SMS cap and a clock that walks through the hour, one booking after another."""

    bookings: int  # alerting changes in the hour
    sms_only: bool  # the calendar has no e-mail address to fall back to
    cap_segments: int  # SmsPerCalendarPerHour
    sms_wanted: int  # SMS notifications queued
    sms_sent: int
    segments_sent: int
    sms_covered_by_email: int  # over the cap, the e-mail carries the alert
    sms_parked: int  # over the cap with no e-mail: to the dead-letter queue with a reason
    emails: int
    feed_entries: int
    pushes: int
    message_groups: int  # distinct MessageGroupIds among the hour's messages
    most_in_a_group: int
    cap_reached_minute: float | None  # minute of the hour when the first SMS did not go
    # SmsDigestAfter (0: no digest); the digest SMS sent, the alerts they told, and the longest
    # from a digest's window start to its SMS (what its earliest alert can have waited at most).
    digest_after: int = 0
    digests_sent: int = 0
    told_by_digest: int = 0
    longest_digest_wait_minutes: float = 0.0


def hot_hour(
    template: Template,
    bookings: int = HOT_BOOKINGS_PER_HOUR,
    *,
    sms_only: bool = False,
    digest_after: int = 0,
) -> HotHour:
    """``digest_after``: the sender's SmsDigestAfter; the digests it queues come back to it at
    their window's end, as the queue would bring them after its hold."""
    from benchmarks.cost_model import abuse_limits  # noqa: PLC0415 - reads the template
    from practitioner_alerts.adapters.sqs import NotificationQueue  # noqa: PLC0415

    item = dict(template.stored[template.hot_base])
    if sms_only:
        for name in ("alert_email", "verified_email"):
            item.pop(name, None)
    aws = CountingAws({cpu.SETTINGS_TABLE: ClonedSettings({"hot": item}, "hot")})
    cap = abuse_limits().sms_segments_per_calendar_per_hour
    hour = datetime(2027, 9, 27, 9, tzinfo=UTC)  # a Monday morning
    push = CountingPush()
    with cpu.lambda_like_logging():
        alerts = _hot_alerts(template, aws, bookings, hour)
        run = _SenderHour(aws, hour)
        sender, _ = cpu.build_sender(
            aws,
            sms_per_calendar_per_hour=cap,
            settings=CalendarSettingsTable(aws, cpu.SETTINGS_TABLE),  # type: ignore[arg-type]
            push=push,
            clock=lambda: run.now,
            sms_digest_after=digest_after,
            digests=NotificationQueue(aws, cpu.QUEUE_URL),  # type: ignore[arg-type]
        )
        for index, entries in enumerate(alerts):
            run.alerts(sender, entries, hour + timedelta(seconds=index * 3600 / len(alerts)))
        run.send_digests(sender, hour + timedelta(hours=2))
    return HotHour(
        bookings=len(alerts),
        sms_only=sms_only,
        cap_segments=cap,
        sms_wanted=run.wanted,
        sms_sent=run.sent,
        segments_sent=run.segments,
        sms_covered_by_email=run.wanted - (run.sent - run.digests_sent) - run.told - run.parked,
        sms_parked=run.parked,
        emails=run.emails,
        feed_entries=run.feed,
        pushes=sum(push.events.values()),
        message_groups=len(run.groups),
        most_in_a_group=max(run.groups.values(), default=0),
        cap_reached_minute=run.first_refusal,
        digest_after=digest_after,
        digests_sent=run.digests_sent,
        told_by_digest=run.told,
        longest_digest_wait_minutes=round(run.longest_wait.total_seconds() / 60, 1),
    )


def _hot_alerts(
    template: Template, aws: CountingAws, bookings: int, hour: datetime
) -> list[list[dict[str, Any]]]:
    """The detector's queue entries for the hour's online bookings, one booking after another."""
    detector, _ = cpu.build_detector([], aws=aws)
    alerts: list[list[dict[str, Any]]] = []
    # Only online bookings: what a vaccination centre's hot hour is made of.
    changes = (
        r
        for r in template.changes(10 * bookings, Mix(calendars=1, hot=1), hot_share=1.0)
        if r["eventName"] == "INSERT"
    )
    for record in changes:
        # Made as the hour goes on, one every 3600/bookings s: the platform's time of change,
        # which is what the digest's windows go by.
        made = hour + timedelta(seconds=len(alerts) * 3600 / bookings)
        record["dynamodb"]["NewImage"]["changed_at"] = {"S": made.isoformat()}
        detector.handle({"Records": [record]}, None)
        if entries := aws.queued():
            alerts.append(entries)
        if len(alerts) == bookings:
            break
    return alerts


@dataclass
class _SenderHour:
    """The sender's side of a hot hour: what it sent, and the digests it queued, which come back
    to it at their window's end (the queue keeps one per deduplication id)."""

    aws: CountingAws
    now: datetime
    groups: Counter[str] = field(default_factory=Counter)
    waiting: dict[str, dict[str, Any]] = field(default_factory=dict)
    wanted: int = 0
    sent: int = 0
    segments: int = 0
    parked: int = 0
    emails: int = 0
    feed: int = 0
    digests_sent: int = 0
    told: int = 0
    first_refusal: float | None = None
    longest_wait: timedelta = timedelta()

    def _handle(self, sender: Any, entries: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        from practitioner_alerts.rendering.sms import count_segments  # noqa: PLC0415

        self.aws.requests.clear()
        assert sender.handle({"Records": cpu.queue_records(entries)}, None) == {"batchItemFailures": []}
        requests = list(self.aws.requests)
        for op, p in requests:
            if op == "SendMessageBatch" and p["QueueUrl"] == cpu.QUEUE_URL:
                self.waiting.update({e["MessageDeduplicationId"]: e for e in p["Entries"]})
        published = [p for op, p in requests if op == "Publish"]
        self.sent += len(published)
        self.segments += sum(count_segments(str(p["Message"])).segments for p in published)
        return requests

    def alerts(self, sender: Any, entries: list[dict[str, Any]], moment: datetime) -> None:
        self.send_digests(sender, moment)
        self.now = moment
        self.groups.update(entry["MessageGroupId"] for entry in entries)
        sms = sum(1 for e in entries if e["MessageAttributes"]["channel"]["StringValue"] == "sms")
        self.wanted += sms
        requests = self._handle(sender, entries)
        self.emails += sum(1 for op, _ in requests if op == "SendEmail")
        self.feed += sum(1 for op, p in requests if op == "put_item" and p["TableName"] == cpu.FEED_TABLE)
        self.parked += sum(1 for op, p in requests if op == "send_message" and p["QueueUrl"] == cpu.DLQ_URL)
        told_later = sum(
            1
            for op, p in requests
            if op == "UpdateItem" and str(p["UpdateExpression"]).startswith("SET #line")
        )
        published = sum(1 for op, _ in requests if op == "Publish")
        if self.first_refusal is None and published + told_later < sms:
            self.first_refusal = (moment - _hour_of(moment)).total_seconds() / 60

    def send_digests(self, sender: Any, until: datetime) -> None:
        from practitioner_alerts.domain.digest import digest_key, window_end  # noqa: PLC0415
        from practitioner_alerts.domain.notifications import Notification  # noqa: PLC0415

        for dedup, entry in sorted(self.waiting.items()):
            digest = Notification.model_validate_json(entry["MessageBody"])
            if digest.digest_window is None or window_end(digest) > until:
                continue
            del self.waiting[dedup]
            self.now = max(self.now, window_end(digest))
            published = sum(1 for op, _ in self._handle(sender, [entry]) if op == "Publish")
            self.digests_sent += published
            self.longest_wait = max(self.longest_wait, self.now - digest.digest_window)
            if published:
                item = self.aws.digests[(digest.alert.calendar_id, digest_key(digest, digest.digest_window))]
                self.told += sum(1 for name in item if name.startswith("line_"))


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def template_digest_after() -> int:
    """SmsDigestAfter as the template sets it by default."""
    from benchmarks.cost_model import TEMPLATE  # noqa: PLC0415 - imports this module
    from practitioner_alerts_local.template import load_template  # noqa: PLC0415 - dev-only import

    return int(load_template(TEMPLATE)["Parameters"]["SmsDigestAfter"]["Default"])


def describe_hot(hours: list[HotHour]) -> str:
    lines = [
        f"a hot calendar's hour ({hours[0].bookings} online bookings, cap {hours[0].cap_segments} segments)"
    ]
    for h in hours:
        when = "never" if h.cap_reached_minute is None else f"minute {h.cap_reached_minute:.0f}"
        digest = f"digest after {h.digest_after}" if h.digest_after else "no digest"
        calendar = "SMS only" if h.sms_only else "SMS + e-mail"
        lines.append(
            f"  {calendar}, {digest}: {h.sms_sent}/{h.sms_wanted} SMS sent "
            f"({h.segments_sent} segments), cap reached {when}; {h.sms_covered_by_email} carried by e-mail, "
            f"{h.sms_parked} parked; {h.emails} e-mails, {h.feed_entries} feed entries, {h.pushes} pushes; "
            f"{h.message_groups} FIFO groups, at most {h.most_in_a_group} messages in one"
            + (
                f"; {h.digests_sent} digests told {h.told_by_digest} alerts, the longest "
                f"{h.longest_digest_wait_minutes:.1f} min after their window began"
                if h.digest_after
                else ""
            )
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--calendars", type=int, default=NATIONAL.calendars)
    parser.add_argument("--hot", type=int, default=NATIONAL.hot)
    parser.add_argument("--hot-only", action="store_true", help="only a hot calendar's hour")
    args = parser.parse_args(argv)
    if args.hot_only:
        template = Template.from_workload(TEMPLATE_CHANGES)
        after = template_digest_after()
        hours = [
            hot_hour(template, sms_only=only, digest_after=d) for d in (0, after) for only in (False, True)
        ]
        print(describe_hot(hours))
        return 0
    growth = measure(tuple(int(s) for s in args.sizes.split(",")), Mix(args.calendars, args.hot))
    print(describe(growth))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
