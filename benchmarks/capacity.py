"""Capacity model: what 1,000 appointment changes a second, and a 10-minute burst at 3,000, need.

Built from per-change figures `make bench` measured (`benchmarks.growth` at its largest size: CPU
per change, AWS calls per change and message, notifications per change) and AWS's documented
quotas (:data:`QUOTAS`, each with its source, the date it was read and whether the figure was
confirmed there). For each resource it gives what the load needs, the default quota, the
setting or quota to ask for, and the p99 delay that resource's queue adds under the burst;
then the end-to-end p99 against the 10-minute promise, the order in which default quotas bind,
and the monthly cost. `benchmarks.cost_model` renders it into docs/cost-model.md.

Queueing is a fluid model: a stage that serves ``C`` units a second and gets ``λ > C`` for the
burst's ``T`` seconds builds a backlog of ``(λ - C)·t``; the unit arriving at ``t`` waits
``(λ - C)·t / C``, so the p99 over the burst's arrivals is ``(λ - C)·0.99·T / C``. After the burst
the backlog drains at ``C - λ_sustained`` (never, if that is not positive).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

SUSTAINED = 1000.0  # appointment changes a second
BURST = 3000.0
BURST_SECONDS = 600.0
PROMISE_S = 600.0  # the seed's promise: an alert within 10 minutes of the change
# A throttled channel (SES, SMS) may delay its messages by at most this much at the burst's p99
# in the fluid model. A throttled send waits out the sender's back-off (10 s, doubling, up to
# 5 min) rather than its exact turn, which can double the wait: BACKOFF_FACTOR. The rest of the
# promise is the pipeline's own latency and headroom.
CHANNEL_DELAY_BUDGET_S = 150.0
BACKOFF_FACTOR = 2.0
HEADROOM = 1.2  # what a planner asks for above the need it computed
STREAM_BATCH = 100  # the template's BatchSize
SENDER_BATCH = 10
STREAM_POLL_S = 0.25  # Lambda reads a shard four times a second
AS_OF = "2026-12-02"
OFFICE_SECONDS_PER_MONTH = 22 * 10 * 3600  # the sustained rate runs in office hours
# How a Lambda's duration is modelled (as in the cost model): CPU in proportion to memory, a full
# vCPU at 1,769 MB; per call to AWS within the region 8 ms (DynamoDB, SQS) or 30 ms (SNS, SES).
FULL_VCPU_MB = 1769
CALL_MS: Mapping[str, float] = MappingProxyType(
    {"dynamodb": 8.0, "sqs": 8.0, "sns": 30.0, "sesv2": 30.0, "appsync": 10.0}
)


@dataclass(frozen=True)
class Quota:
    """One documented quota or limit, as of a date, with where it was read."""

    service: str
    what: str
    default: float
    unit: str
    adjustable: bool
    source: str
    as_of: str
    verified: bool  # the figure was read in the source named on as_of
    raising: str  # what raising it takes and costs
    note: str = ""


_LAMBDA_SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
_DDB_ON_DEMAND = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode-max-throughput.html"
_DDB_THROTTLING = "https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb"
_SQS_FIFO = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/troubleshooting-fifo-throttling-issues.html"
_SQS_QUOTAS = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html"
)
_SMS_MPS = "https://docs.aws.amazon.com/sms-voice/latest/userguide/sms-limitations-mps.html"

QUOTAS: Mapping[str, Quota] = MappingProxyType(
    {
        "lambda.concurrency": Quota(
            service="Lambda",
            what="concurrent executions per account and Region, all functions together",
            default=1000,
            unit="executions",
            adjustable=True,
            source="https://serverlessland.com/content/service/lambda/guides/aws-lambda-operator-guide/scaling-concurrency",
            as_of=AS_OF,
            verified=True,
            raising="a Service Quotas request; no charge (Lambda bills use, not the quota)",
        ),
        "lambda.scaling_rate": Quota(
            service="Lambda",
            what="new execution environments per function every 10 seconds",
            default=1000,
            unit="environments / 10 s",
            adjustable=False,
            source=_LAMBDA_SCALING,
            as_of=AS_OF,
            verified=True,
            raising="not adjustable; a ramp within it needs nothing",
        ),
        "lambda.parallelization_factor": Quota(
            service="Lambda",
            what="ParallelizationFactor: concurrent batches per stream shard (maximum)",
            default=10,
            unit="batches per shard",
            adjustable=False,
            source="https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html",
            as_of=AS_OF,
            verified=True,
            raising="a template parameter (StreamParallelizationFactor), no charge; records of one "
            "appointment stay in order at any factor",
        ),
        "dynamodb.partition_writes": Quota(
            service="DynamoDB",
            what="write request units a second one partition serves (a stream shard follows a partition)",
            default=1000,
            unit="WRU/s",
            adjustable=False,
            source=_DDB_THROTTLING,
            as_of=AS_OF,
            verified=True,
            raising="not adjustable; DynamoDB splits partitions, and the stream gets a shard per partition",
        ),
        "dynamodb.new_table": Quota(
            service="DynamoDB",
            what="what a new on-demand table serves at once (then up to double its previous peak "
            "within 30 minutes)",
            default=4000,
            unit="WRU/s (or 12,000 RRU/s)",
            adjustable=True,
            source=_DDB_THROTTLING,
            as_of=AS_OF,
            verified=True,
            raising="pre-warm the table (warm throughput) before go-live, or ramp traffic up over "
            "30-minute steps; warm throughput is billed once per unit raised (price not confirmed here)",
        ),
        "dynamodb.table_throughput": Quota(
            service="DynamoDB",
            what="table-level read and write throughput of an on-demand table",
            default=40000,
            unit="RRU/s and WRU/s",
            adjustable=True,
            source=_DDB_ON_DEMAND,
            as_of=AS_OF,
            verified=True,
            raising="a Service Quotas request; no charge",
        ),
        "sqs.fifo_tps": Quota(
            service="SQS",
            what="FIFO transactions a second per API action (SendMessage, ReceiveMessage, "
            "DeleteMessage) and partition without high-throughput mode; 3,000 messages with batches of 10",
            default=300,
            unit="TPS per API",
            adjustable=False,
            source=_SQS_FIFO,
            as_of=AS_OF,
            verified=True,
            raising="high-throughput mode (template parameter FifoHighThroughput, on by default): "
            "DeduplicationScope messageGroup and FifoThroughputLimit perMessageGroupId; no charge",
        ),
        "sqs.fifo_high_throughput_tps": Quota(
            service="SQS",
            what="FIFO transactions a second per API action in high-throughput mode, Europe (Frankfurt)",
            default=19000,
            unit="TPS per API",
            adjustable=True,
            source=_SQS_QUOTAS,
            as_of=AS_OF,
            verified=False,
            raising="a Service Quotas request; no charge",
            note="The page's regional table was not in the stored excerpt: the Frankfurt figure is "
            "from memory (70,000 in N. Virginia, Oregon and Ireland). Batches of 10 count as one "
            "transaction.",
        ),
        "ses.send_rate": Quota(
            service="SES",
            what="e-mails a second (MaxSendRate): 1 in the sandbox; out of it 'varies based on your "
            "specific use case'",
            default=1,
            unit="e-mails/s",
            adjustable=True,
            source="https://docs.aws.amazon.com/ses/latest/dg/quotas.html",
            as_of=AS_OF,
            verified=True,
            raising="production access and a sending-quota case; no charge, granted on reputation "
            "(bounce and complaint rates), so ask weeks ahead",
        ),
        "sms.mps": Quota(
            service="End User Messaging SMS",
            what="SMS message parts a second, per origination identity and destination country",
            default=20,
            unit="MPS",
            adjustable=True,
            source=_SMS_MPS,
            as_of=AS_OF,
            verified=False,
            raising="a support case per country; where a sender ID is not enough, more origination "
            "identities (long codes, short codes) in a pool, each with a monthly lease",
            note="The page confirms that MPS depends on the destination country and the origination "
            "type; the 20 MPS account default for sender IDs is from memory.",
        ),
        "sms.spend": Quota(
            service="End User Messaging SMS",
            what="monthly SMS spending limit of a new account",
            default=1,
            unit="USD a month",
            adjustable=True,
            source="https://docs.aws.amazon.com/sms-voice/latest/userguide/spend-limit.html",
            as_of=AS_OF,
            verified=False,
            raising="a spending-quota case; no charge itself, but it is the SMS bill's ceiling",
            note="The page confirms the account and enforced limits and that sending stops at them; "
            "the USD 1 default of new accounts is from memory.",
        ),
    }
)


@dataclass(frozen=True)
class CapacityInputs:
    """Per-change figures measured by `make bench` (growth at its largest size, latency, cost)."""

    measured_on: str
    changes: int  # size of the growth run the per-change figures come from
    memory_mb: int  # the functions' MemorySize
    detector_cpu_ms_per_change: float
    sender_cpu_ms_per_message: float
    messages_per_change: float  # notifications queued (SMS + e-mail + feed)
    sms_per_change: float
    segments_per_sms: float
    emails_per_change: float
    detector_calls_per_change: Mapping[str, float]  # "service.Operation"
    sender_calls_per_message: Mapping[str, float]
    writes_per_change: Mapping[str, float]  # WRU per change, by table
    reads_per_change: Mapping[str, float]  # RRU per change, by table
    base_p99_s: float  # write -> SMS/e-mail accepted, p99, at a low steady rate
    monthly_changes: float
    infra_usd_per_million: float  # the cost model at that monthly volume
    message_usd_per_million: float
    # benchmarks.growth.HotHour of a hot calendar with SMS and e-mail, and of one with SMS only
    hot_hours: tuple[Mapping[str, Any], ...] = ()
    # the growth table (benchmarks.growth.SizeResult.row), its CPU ratio and noise
    growth: tuple[Mapping[str, Any], ...] = ()
    growth_cpu_ratio: float = 0.0
    growth_noise: float = 0.0
    # (what was measured, hit rate) of the detector's settings cache (growth.settings_hit_rate)
    settings_hit_rates: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CapacityInputs:
        values = json.loads(text)
        return cls(
            **{
                **values,
                "hot_hours": tuple(values.get("hot_hours", ())),
                "growth": tuple(values.get("growth", ())),
                "settings_hit_rates": tuple(tuple(pair) for pair in values.get("settings_hit_rates", ())),
            }
        )


@dataclass(frozen=True)
class Stage:
    """One resource under the load: need, quota, setting, and the delay its queue adds."""

    resource: str
    unit: str
    sustained: float  # needed at SUSTAINED
    burst: float  # needed at BURST
    quota_key: str
    setting: float  # what to set or ask for
    setting_text: str
    delay_at_setting_s: float  # p99 added under the burst with the setting
    delay_at_default_s: float  # ... with the default quota (inf: the backlog never drains)
    channel: bool = False  # SES or SMS: a message takes one, and waits out the back-off there

    @property
    def default(self) -> float:
        return QUOTAS[self.quota_key].default

    # What one change a second uses of the quota, where that is not sustained / SUSTAINED (a
    # monthly budget is used up by a month of traffic at that rate).
    binds_per_change_s: float | None = None

    @property
    def binds_at(self) -> float:
        """Changes a second at which the default quota is reached."""
        per_change = self.sustained / SUSTAINED
        if self.binds_per_change_s is not None:
            per_change = self.binds_per_change_s * OFFICE_SECONDS_PER_MONTH
        return self.default / per_change if per_change else math.inf


def burst_p99_delay_s(
    capacity: float, burst: float, sustained: float, seconds: float = BURST_SECONDS
) -> float:
    """p99 wait over the burst's arrivals at a stage serving ``capacity`` a second."""
    if burst <= capacity:
        return 0.0
    if capacity <= sustained or capacity <= 0:
        return math.inf
    return (burst - capacity) * 0.99 * seconds / capacity


def rate_for_delay(burst: float, sustained: float, budget_s: float, seconds: float = BURST_SECONDS) -> float:
    """The least capacity whose burst p99 wait stays within ``budget_s`` and that drains after."""
    needed = burst * 0.99 * seconds / (budget_s + 0.99 * seconds)
    return max(needed, sustained * HEADROOM)


@dataclass(frozen=True)
class Durations:
    cpu_share: float  # Lambda CPU per memory: FULL_VCPU_MB / memory
    detector_batch_ms: float  # one stream batch of STREAM_BATCH records
    sender_message_ms: float  # one message, its calls included


def durations(inputs: CapacityInputs) -> Durations:
    share = FULL_VCPU_MB / inputs.memory_mb

    def waiting(calls: Mapping[str, float]) -> float:
        return sum(CALL_MS[call.split(".")[0]] * n for call, n in calls.items())

    per_record = inputs.detector_cpu_ms_per_change * share + waiting(inputs.detector_calls_per_change)
    per_message = inputs.sender_cpu_ms_per_message * share + waiting(inputs.sender_calls_per_message)
    return Durations(share, STREAM_BATCH * per_record, per_message)


def stages(inputs: CapacityInputs) -> list[Stage]:
    d = durations(inputs)
    out: list[Stage] = []
    # Stream: at least one shard per 1,000 WRU/s of appointment writes; a shard serves
    # ParallelizationFactor batches at once.
    per_batch_records_s = STREAM_BATCH / (d.detector_batch_ms / 1000)
    appointment_wru = inputs.writes_per_change.get("appointments", 1.0)
    partition = QUOTAS["dynamodb.partition_writes"].default

    def shards(rate: float) -> int:
        return max(1, math.ceil(rate * appointment_wru / partition))

    def factor(rate: float) -> int:
        return math.ceil(rate / (shards(rate) * per_batch_records_s))

    pf = min(int(QUOTAS["lambda.parallelization_factor"].default), max(factor(SUSTAINED), factor(BURST)))
    stream_capacity = shards(BURST) * pf * per_batch_records_s
    one_batch = STREAM_POLL_S + d.detector_batch_ms / 1000
    out.append(
        Stage(
            resource=f"stream: concurrent detector batches ({shards(SUSTAINED)} shard(s) at "
            f"{SUSTAINED:,.0f}/s, {shards(BURST)} at {BURST:,.0f}/s; one batch of {STREAM_BATCH} "
            f"takes {d.detector_batch_ms:.0f} ms)",
            unit="batches per shard",
            sustained=factor(SUSTAINED),
            burst=factor(BURST),
            quota_key="lambda.parallelization_factor",
            setting=pf,
            setting_text=f"StreamParallelizationFactor {pf}",
            delay_at_setting_s=one_batch + burst_p99_delay_s(stream_capacity, BURST, SUSTAINED),
            delay_at_default_s=one_batch
            + burst_p99_delay_s(shards(BURST) * per_batch_records_s, BURST, SUSTAINED),
        )
    )
    # Lambda concurrency, by Little's law: arrivals a second x seconds each.
    detector_sustained, detector_burst = shards(SUSTAINED) * pf, shards(BURST) * pf
    sender_s = d.sender_message_ms / 1000

    def sender(rate: float) -> float:
        return rate * inputs.messages_per_change * sender_s

    reserved = math.ceil(sender(BURST) * HEADROOM)
    total_burst = detector_burst + reserved
    concurrency = QUOTAS["lambda.concurrency"].default
    sender_capacity = reserved / sender_s  # messages a second
    out.append(
        Stage(
            resource=f"Lambda concurrency: detector {detector_sustained}/{detector_burst}, sender "
            f"{sender(SUSTAINED):.0f}/{sender(BURST):.0f} ({d.sender_message_ms:.0f} ms a message)",
            unit="executions",
            sustained=detector_sustained + sender(SUSTAINED),
            burst=detector_burst + sender(BURST),
            quota_key="lambda.concurrency",
            setting=max(concurrency, math.ceil(total_burst * HEADROOM)),
            setting_text=f"SenderReservedConcurrency {reserved}; account concurrency "
            + (
                "1,000 (default) suffices"
                if total_burst * HEADROOM <= concurrency
                else f"raised to {math.ceil(total_burst * HEADROOM):,}"
            ),
            delay_at_setting_s=sender_s * SENDER_BATCH
            + burst_p99_delay_s(
                sender_capacity, BURST * inputs.messages_per_change, SUSTAINED * inputs.messages_per_change
            ),
            delay_at_default_s=sender_s * SENDER_BATCH
            + burst_p99_delay_s(
                (concurrency - detector_burst) / sender_s,
                BURST * inputs.messages_per_change,
                SUSTAINED * inputs.messages_per_change,
            ),
        )
    )
    # SQS FIFO: the busiest API action (the detector's sends, or the pollers' receives and
    # deletes, one each per sender invocation).
    sends = inputs.detector_calls_per_change.get("sqs.SendMessageBatch", 0.0)
    receives = inputs.messages_per_change / SENDER_BATCH
    tps = max(sends, receives)
    out.append(
        Stage(
            resource="SQS FIFO: requests a second on the busiest API action "
            f"({sends:.2f} SendMessageBatch, {receives:.2f} ReceiveMessage per change)",
            unit="TPS",
            sustained=SUSTAINED * tps,
            burst=BURST * tps,
            quota_key="sqs.fifo_tps",
            setting=QUOTAS["sqs.fifo_high_throughput_tps"].default,
            setting_text="FifoHighThroughput true (the default)",
            delay_at_setting_s=burst_p99_delay_s(
                QUOTAS["sqs.fifo_high_throughput_tps"].default, BURST * tps, SUSTAINED * tps
            ),
            delay_at_default_s=burst_p99_delay_s(
                QUOTAS["sqs.fifo_tps"].default, BURST * tps, SUSTAINED * tps
            ),
        )
    )
    # The channels: throttled sends back off and retry, so a quota below the burst is a delay.
    for key, resource, unit, per_change in (
        ("ses.send_rate", "SES: e-mails a second", "e-mails/s", inputs.emails_per_change),
        (
            "sms.mps",
            f"SMS: message parts a second ({inputs.segments_per_sms:.2f} per SMS)",
            "MPS",
            inputs.sms_per_change * inputs.segments_per_sms,
        ),
    ):
        need_s, need_b = SUSTAINED * per_change, BURST * per_change
        ask = math.ceil(rate_for_delay(need_b, need_s, CHANNEL_DELAY_BUDGET_S))
        out.append(
            Stage(
                resource=resource,
                unit=unit,
                sustained=need_s,
                burst=need_b,
                quota_key=key,
                setting=ask,
                setting_text=f"ask for {ask:,} {unit}",
                delay_at_setting_s=BACKOFF_FACTOR * burst_p99_delay_s(ask, need_b, need_s),
                delay_at_default_s=BACKOFF_FACTOR * burst_p99_delay_s(QUOTAS[key].default, need_b, need_s),
                channel=True,
            )
        )
    # The SMS spending limit is a month's budget: SMS stop when it is spent.
    usd_per_change = inputs.message_usd_per_million / 1e6
    bill = inputs.monthly_changes * usd_per_change
    per_second = bill / OFFICE_SECONDS_PER_MONTH
    out.append(
        Stage(
            resource="SMS spending limit: the month's message bill (SMS nearly all of it)",
            unit="USD a month",
            sustained=bill,
            burst=bill + (BURST - SUSTAINED) * BURST_SECONDS * usd_per_change,
            quota_key="sms.spend",
            setting=math.ceil(bill * HEADROOM),
            setting_text=f"ask for USD {math.ceil(bill * HEADROOM / 1000) * 1000:,} a month",
            delay_at_setting_s=0.0,
            delay_at_default_s=math.inf,
            channel=True,
            binds_per_change_s=per_second / SUSTAINED,
        )
    )
    # DynamoDB: the busiest table against what a new on-demand table serves at once.
    table, wru = max(inputs.writes_per_change.items(), key=lambda item: item[1])
    new_table = QUOTAS["dynamodb.new_table"].default
    out.append(
        Stage(
            resource=f"DynamoDB: write units a second on the busiest table ({table}, "
            f"{wru:.2f} WRU per change)",
            unit="WRU/s",
            sustained=SUSTAINED * wru,
            burst=BURST * wru,
            quota_key="dynamodb.new_table",
            setting=math.ceil(BURST * wru * HEADROOM),
            setting_text=f"warm throughput {math.ceil(BURST * wru * HEADROOM):,} WRU/s on {table} "
            f"(under the {QUOTAS['dynamodb.table_throughput'].default:,.0f} table quota)",
            delay_at_setting_s=0.0,
            # Throttled writes are retried by the functions; beyond the table's peak it serves
            # what it served before, so the excess queues like any other stage.
            delay_at_default_s=burst_p99_delay_s(new_table, BURST * wru, SUSTAINED * wru),
        )
    )
    return out


def end_to_end_p99_s(inputs: CapacityInputs, all_stages: list[Stage]) -> float:
    """The measured p99 at a low rate, plus every stage's burst p99 as set, as if they coincided;
    of the channels only the slowest, as a message takes one."""
    serial = sum(s.delay_at_setting_s for s in all_stages if not s.channel)
    return (
        inputs.base_p99_s + serial + max((s.delay_at_setting_s for s in all_stages if s.channel), default=0.0)
    )


def monthly_usd(inputs: CapacityInputs) -> tuple[float, float]:
    millions = inputs.monthly_changes / 1e6
    return millions * inputs.infra_usd_per_million, millions * inputs.message_usd_per_million


def _seconds(value: float) -> str:
    if math.isinf(value):
        return "unbounded (never drains)"
    if value >= 3600:
        return f"{value / 3600:,.1f} h"
    if value >= 60:
        return f"{value / 60:,.1f} min"
    return f"{value:.2f} s"


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def section(inputs: CapacityInputs) -> list[str]:
    """The capacity section of docs/cost-model.md; the same inputs give the same text."""
    from benchmarks.cost_model import _table  # noqa: PLC0415 - the doc's table format

    all_stages = stages(inputs)
    end_to_end = end_to_end_p99_s(inputs, all_stages)
    infra, messages = monthly_usd(inputs)
    binding = sorted((s for s in all_stages if s.binds_at < SUSTAINED), key=lambda s: s.binds_at)
    out = [
        f"{SECTION_TITLE} {SUSTAINED:,.0f} changes a second",
        "",
        f"Sustained {SUSTAINED:,.0f} appointment changes a second, with a {BURST_SECONDS / 60:.0f}-minute "
        f"burst at {BURST:,.0f}. Per-change figures measured on {inputs.measured_on} by `make bench` "
        f"(`benchmarks.growth`, {inputs.changes:,} changes over 100,000 calendars): detector "
        f"{inputs.detector_cpu_ms_per_change:.3f} ms CPU per change, sender "
        f"{inputs.sender_cpu_ms_per_message:.3f} ms per message, {inputs.messages_per_change:.2f} "
        f"notifications per change ({inputs.sms_per_change:.2f} SMS, {inputs.emails_per_change:.2f} "
        f"e-mails); Lambda at {inputs.memory_mb} MB gets {durations(inputs).cpu_share:.2f}x that CPU "
        "time, plus 8 ms per DynamoDB or SQS call and 30 ms per SNS or SES call. Delays are a fluid "
        "queue model (see `benchmarks/capacity.py`).",
        "",
    ]
    out += growth_section(inputs)
    out += _table(
        (
            "resource",
            f"needed at {SUSTAINED:,.0f}/s",
            f"needed at {BURST:,.0f}/s",
            "default quota",
            "set or ask for",
            "p99 added in the burst, as set",
            "p99 added, default quota",
        ),
        [
            (
                s.resource,
                f"{_n(s.sustained)} {s.unit}",
                f"{_n(s.burst)} {s.unit}",
                f"{_n(s.default)} (`{s.quota_key}`)",
                s.setting_text,
                _seconds(s.delay_at_setting_s),
                "SMS stop" if s.quota_key == "sms.spend" else _seconds(s.delay_at_default_s),
            )
            for s in all_stages
        ],
    )
    verdict = "inside" if end_to_end <= PROMISE_S else "**outside**"
    out += [
        "",
        f"**End to end under the burst, as set: p99 {_seconds(end_to_end)}** (the measured "
        f"{inputs.base_p99_s:.2f} s at a low rate plus each stage's p99, added as if they coincided; "
        f"of SES and SMS the slower, as a message takes one), {verdict} the "
        f"{PROMISE_S / 60:.0f}-minute promise. SES and SMS are sized to add at most "
        f"{CHANNEL_DELAY_BUDGET_S / 60:g} minutes at the burst's p99 in the fluid model and to drain "
        f"after it; their figures are doubled ({BACKOFF_FACTOR:g}x) because a throttled send waits "
        "out the sender's back-off (10 s, doubling, up to 5 minutes), not its exact turn. "
        f"Concurrency is sized {HEADROOM:g}x the burst's need, as it costs nothing unused.",
        "",
        "**The first limits a platform hits**, in the order the default quotas bind as traffic grows:",
        "",
    ]
    for rank, s in enumerate(binding, 1):
        quota = QUOTAS[s.quota_key]
        when = f"at {_n(s.binds_at)} changes a second" if s.binds_at >= 1 else "with the first traffic"
        out.append(
            f"{rank}. {quota.service}, {quota.what}: the default {_n(quota.default)} {quota.unit} is "
            f"reached {when}. Raising it: {quota.raising}."
        )
    out += [
        "",
        f"**Monthly cost** at {inputs.monthly_changes:,.0f} changes a month (the sustained rate for "
        f"22 office days of 10 hours): AWS infrastructure USD {infra:,.0f}, SMS and e-mail "
        f"USD {messages:,.0f} (the cost model above, its time-based costs spread over this volume). "
        "The SMS spending limit must cover the message bill; raising the other quotas costs nothing "
        "but the warm throughput.",
        "",
        "Quotas and limits:",
        "",
    ]
    out += _table(
        ("key", "service", "quota", "default", "adjustable", "as of", "verified", "source", "note"),
        [
            (
                f"`{key}`",
                q.service,
                q.what,
                f"{_n(q.default)} {q.unit}",
                "yes" if q.adjustable else "no",
                q.as_of,
                "yes" if q.verified else "⚠ **unverified**",
                q.source,
                q.note,
            )
            for key, q in QUOTAS.items()
        ],
    )
    out += ["", *hot_section(inputs), f"<!-- capacity-inputs {inputs.to_json()} -->", ""]
    return out


DIGEST_WINDOW_MINUTES = 5
GROWTH_COLUMNS = (
    ("changes", "changes", "{:,}"),
    ("calendars_seen", "calendars", "{:,}"),
    ("cpu_ms_per_change", "CPU ms per change", "{:.3f}"),
    ("detector_cpu_ms_per_change", "detector ms per change", "{:.3f}"),
    ("sender_cpu_ms_per_message", "sender ms per message", "{:.3f}"),
    ("aws_calls_per_change", "AWS calls per change", "{:.3f}"),
    ("settings_reads_per_change", "settings reads per change", "{:.3f}"),
    ("settings_keys_per_change", "settings keys per change", "{:.3f}"),
    ("detector_rss_growth_mb", "detector memory growth MB", "{:.0f}"),
    ("sender_rss_growth_mb", "sender memory growth MB", "{:.0f}"),
    ("sender_sample", "sender sample", "1 in {}"),
)


def growth_section(inputs: CapacityInputs) -> list[str]:
    """The growth table `make bench` measured, as the capacity model's ground."""
    if not inputs.growth:
        return []
    from benchmarks.cost_model import _table  # noqa: PLC0415 - the doc's table format

    out = [
        f"Growth, measured (the last row repeats the first: the machine's load drifts, and "
        f"**growth_cpu_ratio = {inputs.growth_cpu_ratio:.3f}** (goal ≤ 1.2) divides the largest "
        f"size's CPU per change by the mean of the two; they differ by {inputs.growth_noise:.0%}). "
        "CPU is thread time inside the handlers; memory growth is peak RSS above the process's own "
        "after imports and set-up, each function and size in a fresh interpreter:",
        "",
    ]
    out += _table(
        tuple(title for _, title, _ in GROWTH_COLUMNS),
        [tuple(fmt.format(row[key]) for key, _, fmt in GROWTH_COLUMNS) for row in inputs.growth],
    )
    from benchmarks.growth import super_linear_steps  # noqa: PLC0415

    steps = super_linear_steps([dict(row) for row in inputs.growth])
    flat = (
        "Per-change CPU, AWS calls and settings reads stay flat (no step above 20% from one size to "
        "the next), so totals grow linearly."
        if not steps
        else "Super-linear steps (above 20% from one size to the next): " + "; ".join(steps) + "."
    )
    out += [
        "",
        f"{flat} One step was super-linear before this change (measured on 2026-12-02): the "
        "detector's settings cache kept every calendar it had ever read, though none was used again "
        "(the time to live is 0), 16 MB more after 41,000 calendars and bounded only by the "
        "population; it now drops expired entries, oldest first (the detector's memory growth "
        "above). The settings validation cache (4,096 items) holds fewer calendars than a national "
        "population, so its hit rate stays at what one batch, and one message's SMS and e-mail, share.",
        "",
    ]
    return out


def hot_section(inputs: CapacityInputs) -> list[str]:
    """What a hot calendar does to the design, measured without and with the SMS digest, and
    the digest decision it led to."""
    if not inputs.hot_hours:
        return []
    from benchmarks.cost_model import PRICES, _table  # noqa: PLC0415 - the doc's prices and tables

    plain = [h for h in inputs.hot_hours if not h.get("digest_after")]
    digested = [h for h in inputs.hot_hours if h.get("digest_after")]
    both = next(h for h in plain if not h["sms_only"])
    only = next(h for h in plain if h["sms_only"])
    bookings, cap = both["bookings"], both["cap_segments"]
    price = PRICES["sms.DE"].usd
    uncapped = both["sms_wanted"] * inputs.segments_per_sms * price
    capped = cap * price
    out = [
        "## Hot calendars, and the digest decision",
        "",
        f"Measured by `make bench` (`benchmarks.growth.hot_hour`): one calendar taking {bookings} online "
        f"bookings in an hour (one every {3600 / bookings:.0f} s, a vaccination centre), through the "
        f"detector and the sender, the SMS cap at the template's {cap} segments per calendar and hour "
        "and a clock that walks through the hour; without the SMS digest (`SmsDigestAfter` 0) and with "
        "the template's default, the digests coming back to the sender at their window's end.",
        "",
    ]
    out += _table(
        (
            "calendar",
            "digest",
            "SMS sent of wanted",
            "of them digests (alerts told)",
            "cap reached",
            "over the cap: by e-mail",
            "over the cap: parked",
            "e-mails",
            "feed entries",
            "pushes",
            "FIFO groups",
        ),
        [
            (
                "SMS only" if h["sms_only"] else "SMS and e-mail",
                f"after {h['digest_after']}" if h.get("digest_after") else "none",
                f"{h['sms_sent']} of {h['sms_wanted']}",
                f"{h['digests_sent']} ({h['told_by_digest']})" if h.get("digest_after") else "-",
                "never" if h["cap_reached_minute"] is None else f"minute {h['cap_reached_minute']:.0f}",
                str(h["sms_covered_by_email"]),
                str(h["sms_parked"]),
                str(h["emails"]),
                str(h["feed_entries"]),
                str(h["pushes"]),
                str(h["message_groups"]),
            )
            for h in inputs.hot_hours
        ],
    )
    out += [
        "",
        f"- **FIFO groups:** a group is an appointment and a channel, so the hot hour is "
        f"{both['message_groups']} groups with at most {both['most_in_a_group']} message each (a digest "
        "has a group of its own). A hot calendar never queues behind itself, and no group comes near a "
        "per-group limit.",
        f"- **Push:** {both['pushes']} events an hour on the calendar's channel, one per feed entry; the "
        "page shows each. Nothing is lost or merged there.",
        "- **Settings:** the detector reads a calendar's settings once per stream batch that holds one "
        "of its records; a hot calendar is at most one key in some batches, so its reads are the "
        "batches', not its bookings'. Settings cache hit rates, measured with the detector's cache: "
        + "; ".join(f"{what} {rate:.1%}" for what, rate in inputs.settings_hit_rates)
        + ".",
    ]
    reached = both["cap_reached_minute"]
    if reached is None:
        out += [
            f"- **SMS cap:** never reached: {both['sms_sent']} SMS ({both['segments_sent']} segments) "
            f"of the {cap} segments an hour allowed; nothing is parked or diverted.",
            f"- **Cost:** USD {uncapped:.2f} for the hour's SMS (at the DE price).",
            "",
        ]
        return out
    out += [
        f"- **SMS cap, without the digest:** reached at minute {reached:.0f}. After it, a calendar with "
        f"e-mail gets its alerts by e-mail only ({both['sms_covered_by_email']} of {both['sms_wanted']}); "
        f"an SMS-only calendar has {only['sms_parked']} of {only['sms_wanted']} SMS parked in the "
        "notification dead-letter queue with `sms_cap_reached` (the feed still shows them all), which "
        "raises `NotificationDeadLetterQueueDepthAlarm` for traffic that is normal for that calendar.",
        f"- **Cost, without the digest:** uncapped, the hour's SMS would cost USD {uncapped:.2f} (at the "
        f"DE price); the cap holds it at USD {capped:.2f}.",
        "",
    ]
    if not digested:
        return out
    with_digest = next(h for h in digested if h["sms_only"])
    after = with_digest["digest_after"]
    wait = max(h["longest_digest_wait_minutes"] for h in digested)
    out += [
        f"**Decision: a digest is needed, for delivery rather than cost, and built** (`SmsDigestAfter`, "
        f"default {after}; `domain/digest.py`). Without it any calendar with more than {cap} SMS "
        f"alerts an hour (one every {60 / cap:.0f} minutes) loses SMS for the rest of the hour from the "
        f"moment it passes the cap (minute {reached:.0f} here). With it, "
        + ("the first SMS alert" if after == 1 else f"the first {after} SMS alerts")
        + f" of a calendar in each {DIGEST_WINDOW_MINUTES}-minute window "
        + ("goes" if after == 1 else "go")
        + " out at once and one SMS at the window's end tells the rest (how many of each kind of "
        f"change, and as many start times as fit one segment): {with_digest['sms_sent']} SMS "
        f"({with_digest['segments_sent']} segments) an hour, {with_digest['digests_sent']} of them "
        f"digests telling {with_digest['told_by_digest']} alerts, the cap "
        + ("never reached" if with_digest["cap_reached_minute"] is None else "still reached")
        + f", {with_digest['sms_parked']} parked, and no alert waits longer than {wait:.1f} minutes for "
        "its SMS, inside the 10-minute promise. E-mail and the feed keep one message per alert.",
        "",
    ]
    return out


INPUTS_MARK = "<!-- capacity-inputs "
SECTION_TITLE = "## Capacity at"


def inputs_in(doc: str) -> CapacityInputs | None:
    """The capacity inputs a generated doc carries, to regenerate or check its section."""
    start = doc.find(INPUTS_MARK)
    if start < 0:
        return None
    text = doc[start + len(INPUTS_MARK) : doc.index(" -->", start)]
    return CapacityInputs.from_json(text)


def rewrite(path: Path) -> bool:
    """Regenerate the capacity section of a generated doc from the inputs it carries (after a
    change to this model); False when the doc has none (run `make bench`)."""
    text = path.read_text("utf-8")
    inputs = inputs_in(text)
    if inputs is None:
        return False
    head = text[: text.index(SECTION_TITLE)]
    path.write_bytes((head + "\n".join(section(inputs)).rstrip("\n") + "\n").encode("utf-8"))
    return True


def main(argv: list[str] | None = None) -> int:
    from benchmarks.cost_model import DEFAULT_DOC  # noqa: PLC0415 - imports this module

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    args = parser.parse_args(argv)
    if not rewrite(args.doc):
        print(f"{args.doc} carries no capacity inputs: run make bench")
        return 1
    print(f"rewrote the capacity section of {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
