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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import cold_start, cost_model, cpu, layer_size, pipeline, popup

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


FULL = Sizes(
    changes=1000,
    cpu_samples=15,
    latency_changes=300,
    latency_rate=10.0,
    popup_bookings=50,
    popup_rate=5.0,
    popup_reconnects=5,
    cold_start_samples=5,
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
    # `make demo`'s scripted day on the embedded stack, wall time (README: "within seconds").
    "demo_s": ("≤", 15.0),
}

# How a Lambda's duration is modelled from what was measured here. Lambda gives a function CPU in
# proportion to its memory, one full vCPU at 1,769 MB; a call to AWS within the region is taken
# as 8 ms (DynamoDB, SQS) or 30 ms (SNS, SES) of waiting; a cold start (INIT is billed since
# August 2025) as the measured worst handler import plus one first call, on 1% of invocations.
FULL_VCPU_MB = 1769
CALL_MS = {"dynamodb": 8.0, "sqs": 8.0, "sns": 30.0, "sesv2": 30.0, "appsync": 10.0}
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
    cost_model.write_doc(inputs, report, doc)
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
    print(popup.describe(popup.PopupLatency(**results["details"]["popup"])))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
