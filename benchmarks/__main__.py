"""`make bench`: every benchmark in one run, a table of ratios, and bench-results.json.

Each figure is measured side by side in this one run (code against its floor, handler imports
against ``import boto3``), so it is a ratio that does not depend on how busy the machine is.
`--smoke` runs everything with tiny inputs, only to keep the benchmarks working (CI does this;
it asserts nothing about speed).

    .venv/bin/python -m benchmarks [--smoke] [--no-build] [--output bench-results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import platform
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import capacity, cold_start, cost_model, cpu, growth, layer_size, pipeline, popup

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench-results.json"


@dataclass(frozen=True)
class Sizes:
    changes: int  # records for the detector's CPU run and the AWS-call count
    cpu_samples: int
    latency_changes: int
    latency_rate: float  # writes per second
    popup_bookings: int  # bookings written while the calendar page is open in Chromium
    popup_rate: float  # bookings per second
    popup_reconnects: int  # forced reconnects, to count the catch-up's feed reads
    cold_start_samples: int  # fresh interpreters per function, INIT + first call as deployed
    growth: tuple[int, ...]  # changes per growth run (benchmarks.growth)
    growth_mix: growth.Mix  # the calendar population they go to
    growth_template: int  # changes written through the local stack to make the growth records
    hot_bookings: int  # a hot calendar's bookings in its busiest hour


FULL = Sizes(
    changes=1000,
    cpu_samples=15,
    latency_changes=300,
    latency_rate=10.0,
    popup_bookings=50,
    popup_rate=5.0,
    popup_reconnects=5,
    cold_start_samples=5,
    growth=(1_000, 10_000, 100_000),
    growth_mix=growth.NATIONAL,
    growth_template=growth.TEMPLATE_CHANGES,
    hot_bookings=growth.HOT_BOOKINGS_PER_HOUR,
)
SMOKE = Sizes(
    changes=40,
    cpu_samples=3,
    latency_changes=10,
    latency_rate=20.0,
    popup_bookings=3,
    popup_rate=5.0,
    popup_reconnects=1,
    cold_start_samples=1,
    growth=(40, 120),
    growth_mix=growth.Mix(calendars=1000, hot=2),
    growth_template=40,
    hot_bookings=12,
)

GOALS = {
    "detector_cpu_ratio": ("≤", 5.0),
    "sender_cpu_ratio": ("report", None),
    "aws_calls_ratio": ("≤", 1.1),
    "e2e_p99_s": ("≤", 2.0),
    "popup_p50_s": ("report", None),
    "popup_p99_s": ("≤", 2.0),
    "pushes_per_alert": ("=", 1.0),
    "infra_cost_ratio": ("≤", 0.01),
    "layer_mb": ("≤", 15.0),
    "cold_start_ratio": ("≤", 2.0),
    "layer_bundled_mb": ("report", None),
    # CPU per change at the largest growth size / at the smallest (benchmarks.growth)
    "growth_cpu_ratio": ("≤", 1.2),
    # the smallest growth size's two runs, (max - min) / mean: what the machine's load does
    "growth_noise": ("report", None),
    # `make demo`'s scripted day on the embedded stack, wall time (README: "within seconds").
    "demo_s": ("≤", 15.0),
}

# How a Lambda's duration is modelled from what was measured here (benchmarks.capacity): CPU in
# proportion to memory, a call to AWS as 8 or 30 ms of waiting; a cold start (INIT is billed since
# August 2025) as the measured worst handler import plus one first call, on 1% of invocations.
FULL_VCPU_MB = capacity.FULL_VCPU_MB
CALL_MS = capacity.CALL_MS
COLD_START_SHARE = 0.01
# Item sizes per table, rounded up from the local runtime's items (writes are billed per KB).
ITEM_KB = {"appointments": 0.6, "settings": 0.5, "idempotency": 0.4, "alerts_feed": 0.6, "delivery_log": 0.3}
TABLE_KEYS = {
    "CalendarSettingsTable": "settings",
    "IdempotencyTable": "idempotency",
    "AlertsFeedTable": "alerts_feed",
    "DeliveryLogTable": "delivery_log",
    "AppointmentsTable": "appointments",
}


def cost_inputs(
    economy: pipeline.CallEconomy,
    timing: pipeline.Latency,
    cpu_result: dict[str, Any],
    cold_start_ms: float,
    memory_mb: int,
) -> cost_model.CostInputs:
    """The cost model's inputs from this run's measurements, scaled to 1M changes.

    Invocations are the worst case for cost, as at low traffic: every change its own detector
    invocation, which reads settings (a cache miss) and queues its alert in a request of its
    own, and every alerting change its own sender invocation. Batching only lowers all three.
    """
    scale = 1_000_000 / economy.changes
    detector_invocations = 1_000_000.0
    alerting = economy.alerting_changes * scale
    sender_invocations = alerting
    calls = {_cost_key(call): count * scale for call, count in economy.calls.items()}
    calls["dynamodb.BatchGetItem@settings"] = detector_invocations
    calls["sqs.SendMessageBatch"] = alerting
    # The push goes over HTTP, not through a boto3 client the count sees: one per feed entry
    # written, as the sender makes it. Deliveries and the pages' connections are assumptions.
    memory_by_function, _, _ = cost_model.template_facts()
    realtime_calls, realtime_monthly, on_subscribe = cost_model.realtime_usage(
        calls.get("dynamodb.PutItem@alerts_feed", 0.0),
        memory_by_function["RealtimeSubscribeFunction"],
        cold_start_ms=cold_start_ms,
    )
    calls["appsync.EventPublish"] = realtime_calls["appsync.EventPublish"]
    # In the worst case the detector reads settings and queues (or parks) per change; every
    # other call is the sender's.
    detector_calls = ("dynamodb.BatchGetItem", "sqs.SendMessage")
    # Deliveries to pages are AppSync's work, not the sender's wait.
    deliveries = {"appsync.EventDelivery": realtime_calls["appsync.EventDelivery"]}

    def waiting_ms(detector: bool, invocations: float) -> float:
        made = {c: n for c, n in calls.items() if c.startswith(detector_calls) == detector}
        return sum(CALL_MS[call.split(".")[0]] * n for call, n in made.items()) / invocations

    def log_bytes(function: str, invocations: float) -> float:
        # Bytes an invocation writes at a steady rate (the latency run), plus Lambda's own lines.
        per_invocation = timing.log_bytes.get(function, 0) / max(timing.invocations.get(function, 0), 1)
        return invocations * (per_invocation + cost_model.PLATFORM_LINES)

    cpu_share = FULL_VCPU_MB / memory_mb
    cold = COLD_START_SHARE * cold_start_ms
    detector_ms = (
        cpu_result["detector_one_record_ms"] * cpu_share + waiting_ms(True, detector_invocations) + cold
    )
    sender_ms = cpu_result["sender_one_alert_ms"] * cpu_share + waiting_ms(False, sender_invocations) + cold
    functions = (
        cost_model.FunctionUsage(
            "detector",
            detector_invocations,
            round(detector_ms, 1),
            memory_mb,
            log_bytes("DetectorFunction", detector_invocations),
        ),
        cost_model.FunctionUsage(
            "sender",
            sender_invocations,
            round(sender_ms, 1),
            memory_mb,
            log_bytes("SenderFunction", sender_invocations),
        ),
        on_subscribe,
    )
    segments = sum(economy.sms_segments_by_country.values())
    sms_messages = calls.get("sns.Publish", 0.0)
    active_seconds = 22 * 10 * 3600  # traffic in office hours: 22 days x 10 hours a month
    _, alarms, kms_keys = cost_model.template_facts()
    return cost_model.CostInputs(
        changes=economy.changes,
        measured_on=datetime.now(UTC).date().isoformat(),
        functions=functions,
        calls={**calls, **deliveries},
        sqs_requests_polling=0,
        appointment_writes=1_000_000,
        sms_by_country={c: n * scale for c, n in sorted(economy.sms_segments_by_country.items())},
        emails=economy.emails * scale,
        avg_item_kb=ITEM_KB,
        xray_traces=cost_model.default_sampled_traces(detector_invocations, active_seconds)
        + cost_model.default_sampled_traces(sender_invocations, active_seconds),
        changes_per_month=1_000_000,
        fixed_monthly={
            "cloudwatch.alarm": alarms,
            "cloudwatch.custom_metric": 10,
            "kms.key_month": 2 * kms_keys,
            "kms.request": 5 * 12 * 730,
            **realtime_monthly,
        },
        sms_segments_per_message=segments * scale / sms_messages if sms_messages else 1.0,
        notes=(
            f"Measured by `make bench` on {platform.machine()} ({platform.python_implementation()} "
            f"{platform.python_version()}): {economy.changes:,} changes of `make chaos`'s mix on "
            f"{pipeline.CALENDARS} calendars through the local runtime, every AWS call the functions "
            "made counted, every SMS segment and e-mail; the log bytes an invocation writes at "
            f"{timing.rate_per_second:g} changes a second; CPU time of the detector on one record and "
            "of the sender on one alert's notifications, on in-memory AWS stand-ins.",
            "Invocations are the worst case, as at low traffic: one detector invocation per change, "
            "each reading settings (a cache miss) and queueing in a request of its own, and one "
            "sender invocation per alerting change. Batching only lowers these.",
            f"Lambda durations are modelled from those: CPU time x {FULL_VCPU_MB} / memory MB (Lambda's "
            "CPU share), plus per AWS call 8 ms (DynamoDB, SQS) or 30 ms (SNS, SES) of waiting, plus "
            f"a cold start (the measured import and first call, {cold_start_ms:.0f} ms) on "
            f"{COLD_START_SHARE:.0%} of invocations.",
        ),
    )


# The stand-ins' table names (benchmarks.cpu) -> the cost model's.
GROWTH_TABLES = {
    "settings": "settings",
    "idempotency": "idempotency",
    "feed": "alerts_feed",
    "delivery-log": "delivery_log",
}
OFFICE_SECONDS_PER_MONTH = 22 * 10 * 3600


def capacity_inputs(
    grown: growth.Growth,
    economy: pipeline.CallEconomy,
    timing: pipeline.Latency,
    inputs: cost_model.CostInputs,
    *,
    memory_mb: int,
    hot: list[growth.HotHour],
) -> capacity.CapacityInputs:
    """The capacity model's inputs: per-change figures of the largest growth run, the SMS length
    of the pipeline run, the latency run's p99, and the cost model at the sustained volume."""
    largest = max(grown.sizes, key=lambda size: size.changes)
    changes, messages = largest.changes, max(largest.detector.messages, 1)

    def per(calls: dict[str, float], over: float) -> dict[str, float]:
        out: dict[str, float] = {}
        for call, count in calls.items():
            out[growth.service_call(call)] = out.get(growth.service_call(call), 0.0) + count / over
        return dict(sorted(out.items()))

    writes: dict[str, float] = {"appointments": cost_model.write_request_units(ITEM_KB["appointments"])}
    for function in (largest.detector, largest.sender):
        for call, count in function.calls.items():
            name, _, table = call.partition("@")
            if table and growth.service_call(name).split(".")[1] in ("PutItem", "UpdateItem", "DeleteItem"):
                key = GROWTH_TABLES[table]
                units = cost_model.write_request_units(ITEM_KB[key])
                writes[key] = writes.get(key, 0.0) + count * units / changes
    settings_reads = (
        largest.detector.settings_keys + largest.sender.calls.get("GetItem@settings", 0.0)
    ) / changes
    sender_calls = per(largest.sender.calls, messages)
    sender_calls["appsync.EventPublish"] = largest.sender.pushes / messages
    sms = economy.calls.get("sns.Publish", 0)
    monthly = capacity.SUSTAINED * OFFICE_SECONDS_PER_MONTH
    at_volume = cost_model.estimate(replace(inputs, changes_per_month=monthly))
    return capacity.CapacityInputs(
        measured_on=inputs.measured_on,
        changes=changes,
        memory_mb=memory_mb,
        detector_cpu_ms_per_change=round(largest.detector.cpu_ms / changes, 4),
        sender_cpu_ms_per_message=round(largest.sender.cpu_ms / messages, 4),
        messages_per_change=round(largest.detector.messages / changes, 4),
        sms_per_change=round(largest.sender.calls.get("Publish", 0.0) / changes, 4),
        segments_per_sms=round(sum(economy.sms_segments_by_country.values()) / sms, 3) if sms else 1.0,
        emails_per_change=round(largest.sender.calls.get("SendEmail", 0.0) / changes, 4),
        detector_calls_per_change={k: round(v, 4) for k, v in per(largest.detector.calls, changes).items()},
        sender_calls_per_message={k: round(v, 4) for k, v in sender_calls.items()},
        writes_per_change={k: round(v, 4) for k, v in sorted(writes.items())},
        reads_per_change={"settings": round(settings_reads, 4)},
        base_p99_s=round(timing.p99_s, 2),
        monthly_changes=monthly,
        infra_usd_per_million=round(at_volume.infra_usd, 2),
        message_usd_per_million=round(at_volume.message_usd, 2),
        hot_hours=tuple(json.loads(json.dumps(vars(h))) for h in hot),
    )


def settings_hit_rates(template: growth.Template, changes: int) -> tuple[tuple[str, float], ...]:
    """The detector's settings cache over ``changes``: as deployed (no time to live) and with a
    minute's, for 100,000 calendars and for 200, one warm environment taking 250 changes a
    second (1,000 over a shard's four concurrent batches)."""
    out = []
    for mix, population in ((growth.NATIONAL, "100,000 calendars"), (growth.Mix(200, 1), "200 calendars")):
        for ttl, cache in ((0, "as deployed (no time to live)"), (60, "with a 60 s time to live")):
            rate = growth.settings_hit_rate(template, changes, mix, ttl_seconds=ttl, changes_per_second=250)
            out.append((f"{population}, {cache}", rate))
    return tuple(out)


def _cost_key(call: str) -> str:
    """``dynamodb.PutItem@IdempotencyTable`` -> ``dynamodb.PutItem@idempotency``."""
    name, _, table = call.partition("@")
    return f"{name}@{TABLE_KEYS.get(table, table)}" if table else name


def run(sizes: Sizes, *, build: bool, doc: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    cpu_result = cpu.measure(sizes.changes, sizes.cpu_samples)
    results["detector_cpu_ratio"] = cpu_result["detector_cpu_ratio"]
    results["sender_cpu_ratio"] = cpu_result["sender_cpu_ratio"]
    economy = pipeline.call_economy(sizes.changes)
    results["aws_calls_ratio"] = economy.ratio
    timing = pipeline.latency(sizes.latency_changes, sizes.latency_rate)
    results["e2e_p99_s"] = timing.p99_s
    popups = popup.measure(sizes.popup_bookings, sizes.popup_rate, sizes.popup_reconnects)
    results["popup_p50_s"] = popups.popup_p50_s
    results["popup_p99_s"] = popups.popup_p99_s
    results["pushes_per_alert"] = popups.pushes_per_alert
    memory, _, _ = cost_model.template_facts()
    # A cold start is INIT and the first invocation, as deployed (benchmarks/cold_start.py).
    with tempfile.TemporaryDirectory() as scratch:
        this_machine = Path(scratch) / "build"
        cold_start.build_for_this_machine(this_machine)
        cold = cold_start.measure(sizes.cold_start_samples, build_dir=this_machine)
        # The smoke run sizes that build (wheels for this machine, not Lambda's; the figure does
        # not count): one `sam build` less in `make test`.
        layer = (
            layer_size.measure(this_machine, build=False)
            if sizes is SMOKE
            else layer_size.measure(ROOT / ".aws-sam" / "build", build=build)
        )
    results["cold_start_ratio"] = cold["cold_start_ratio"]
    cold_start_ms = max(cold["cold_start_ms"].values())
    inputs = cost_inputs(economy, timing, cpu_result, cold_start_ms, max(memory.values()))
    report = cost_model.estimate(inputs)
    results["infra_cost_ratio"] = report.ratio
    template = growth.Template.from_workload(sizes.growth_template)
    # The smoke run keeps to one process: spawning interpreters would take longer than the run.
    grown = growth.measure(sizes.growth, sizes.growth_mix, template, isolated=sizes is not SMOKE)
    results["growth"] = grown.table
    results["growth_cpu_ratio"] = grown.cpu_ratio
    results["growth_noise"] = grown.noise
    # Without the digest, and with the template's SmsDigestAfter.
    hot = [
        growth.hot_hour(template, sizes.hot_bookings, sms_only=only, digest_after=after)
        for after in (0, growth.template_digest_after())
        for only in (False, True)
    ]
    hit_rates = settings_hit_rates(template, max(sizes.growth))
    results["settings_hit_rate"] = dict(hit_rates)
    planned = replace(
        capacity_inputs(grown, economy, timing, inputs, memory_mb=max(memory.values()), hot=hot),
        growth=tuple(grown.table),
        growth_cpu_ratio=grown.cpu_ratio,
        growth_noise=grown.noise,
        settings_hit_rates=hit_rates,
    )
    cost_model.write_doc(inputs, report, doc, capacity=planned)
    results["layer_mb"] = layer["layer_mb"]
    # PowertoolsLayer=bundled (sam local invoke without an AWS account): we ship Powertools too.
    results["layer_bundled_mb"] = layer["bundled_mb"]
    results["demo_s"] = demo_seconds()
    results["details"] = {
        "cpu": cpu_result,
        "cold_start": cold,
        "aws_calls": {
            "changes": economy.changes,
            # pushes the sender published per feed entry it wrote (the pipeline run, no faults)
            "pushes_per_feed_entry": economy.pushes_per_feed_entry,
            # SNS/SES acceptance -> idempotency completion, ms (the one window of a resend)
            "send_window_ms": economy.send_window_ms,
            "messages": economy.messages,
            "delivered": economy.delivered,
            "floor": economy.floor,
            "total": economy.total,
            "by_call": economy.calls,
        },
        "latency": vars(timing),
        "popup": vars(popups),
        "cost": {"infra_usd": report.infra_usd, "message_usd": report.message_usd},
        "growth": {
            "super_linear_steps": growth.super_linear_steps(grown.table),
            "by_size": [
                {"changes": s.changes, "detector": s.detector.calls, "sender": s.sender.calls}
                for s in grown.sizes
            ],
        },
        "hot_calendar": [vars(h) for h in hot],
        "capacity_inputs": json.loads(planned.to_json()),
        "layer": layer,
    }
    return results


def demo_seconds() -> float:
    """How long `practitioner-alerts demo` takes, from the call to its report."""
    from practitioner_alerts_local.cli import main as cli  # noqa: PLC0415 - only this figure needs it

    started = time.perf_counter()
    if cli(["demo"], out=io.StringIO()) != 0:
        raise RuntimeError("the demo failed; see tests/local/test_cli.py")
    return round(time.perf_counter() - started, 2)


def print_table(results: dict[str, Any]) -> None:
    print(f"{'key':22}{'value':>12}  goal")
    for key, (relation, goal) in GOALS.items():
        value = results[key]
        shown = "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"
        if goal is None:
            verdict = ""
        else:
            met = value is not None and (value == goal if relation == "=" else value <= goal)
            verdict = "met" if met else "NOT met"
        target = "report" if goal is None else f"{relation} {goal:g}"
        print(f"{key:22}{shown:>12}  {target} {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, only to keep benchmarks working")
    parser.add_argument("--no-build", action="store_true", help="measure the existing .aws-sam/build")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # A smoke run's figures are meaningless: its cost doc goes next to its results, not into docs/.
    doc = args.output.with_name("cost-model.smoke.md") if args.smoke else ROOT / "docs" / "cost-model.md"
    results = run(SMOKE if args.smoke else FULL, build=not args.no_build, doc=doc)
    results["mode"] = "smoke" if args.smoke else "full"
    args.output.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n", "utf-8")
    print_table(results)
    print(growth.describe_table(results["growth"], results["growth_cpu_ratio"]))
    print(popup.describe(popup.PopupLatency(**results["details"]["popup"])))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
