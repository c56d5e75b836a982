"""Benchmark: a cold start as deployed, INIT plus the first invocation, against boto3's own.

What a user pays on a cold start is INIT (Lambda imports the handler module, which builds the
function: see functions/*/app.py) plus the first invocation. This measures both together, for
each of the four functions, from what `sam build` builds: the function's code directory and the
layers unpacked into one /opt in template order (our SharedLayer, then the bundled Powertools
layer standing in for AWS's), each run in a fresh ``python3.13 -I -S -B`` with nothing on its
path but those and the runtime's boto3, and no bytecode but what the layers ship (``-B`` writes
none). The layers' wheels are built for this machine so that it can
import them (``PIP_PLATFORM``); Lambda's are arm64.

Side by side, in the same run and alternating sample by sample: the baseline, ``import boto3``
plus one client and one call to the same moto server; and the same functions with the layers'
bytecode removed, which is what a layer without bytecode costs every cold start (/opt is
read-only on Lambda, so nothing compiled there is kept).

    .venv/bin/python -m benchmarks.cold_start [--samples 5]

``cold_start_ratio`` is the slowest function's median over the baseline's (goal <= 2).
Interpreter start-up is left out on both sides (timed inside the interpreter); Lambda's runtime
bootstrap is not modelled.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.layer_size import built_artifacts, run_sam_build

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
REGION = "eu-central-1"

# The four functions of the pipeline and the settings page, each with the sample event its first
# invocation gets. (The OnSubscribe function decides from claims alone and builds no client.)
FUNCTIONS = {
    "DetectorFunction": ("stream-online-booking.json",),
    # An SMS and an e-mail in one batch: both renderers (Babel, Jinja2) run.
    "SenderFunction": ("queue-sms.json", "queue-email.json"),
    "SettingsApiFunction": ("api-get-settings.json",),
    "DeliveryEventsFunction": ("ses-bounce.json",),
}
# What the Lambda runtime has besides the standard library (layers/shared/prune_layer.py).
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}

# Runs in the fresh interpreter. argv: the path entries as JSON, the event, the output file.
_COLD_START_SCRIPT = """
import json, sys, time
started = time.perf_counter()
sys.path[:0] = json.loads(sys.argv[1])
event = json.loads(open(sys.argv[2], encoding="utf-8").read())
class Context:
    function_name = "{function}"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:{region}:123456789012:function:{function}"
    memory_limit_in_mb = 256
    aws_request_id = "benchmark"
    log_group_name = "/aws/lambda/{function}"
    log_stream_name = "benchmark"
    def get_remaining_time_in_millis(self):
        return {remaining_ms}
import app
initialised = time.perf_counter()
response = app.handler(event, Context())
called = time.perf_counter()
with open(sys.argv[3], "w", encoding="utf-8") as out:
    json.dump({{"init_ms": (initialised - started) * 1000, "first_call_ms": (called - initialised) * 1000,
               "response": response}}, out)
"""
_BASELINE_SCRIPT = """
import json, sys, time
started = time.perf_counter()
sys.path[:0] = json.loads(sys.argv[1])
import boto3
boto3.client("sqs").list_queues()
done = time.perf_counter()
with open(sys.argv[3], "w", encoding="utf-8") as out:
    json.dump({"init_ms": (done - started) * 1000, "first_call_ms": 0.0, "response": None}, out)
"""


def build_for_this_machine(build_dir: Path) -> None:
    """`sam build` into ``build_dir`` with the layers' wheels for this machine, not Lambda's
    arm64, and a cache of its own, so that no deploy build ever reuses it."""
    wheels = f"manylinux2014_{_MACHINES[platform.machine().lower()]}"
    run_sam_build(
        build_dir,
        extra_args=["--no-cached", "--cache-dir", str(build_dir.parent / "sam-cache")],
        extra_env={"PIP_PLATFORM": wheels},
    )


def runtime_packages(into: Path) -> Path:
    """The Lambda runtime's boto3 and its dependencies, linked from this environment."""
    into.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_DISTRIBUTIONS:
        distribution = importlib.metadata.distribution(name)
        tops = {
            Path(str(file)).parts[0]
            for file in distribution.files or []
            if not str(file).startswith("..") and not Path(str(file)).parts[0].endswith(".dist-info")
        }
        for top in tops - {"__pycache__", "bin"}:
            source = Path(str(distribution.locate_file(top)))
            if source.exists() and not (into / top).exists():
                (into / top).symlink_to(source)
    return into


def unpack_layers(layers: list[Path], opt: Path) -> Path:
    """The layers as Lambda unpacks them into /opt: in order, a later one's files over an earlier's."""
    for layer in layers:
        shutil.copytree(layer, opt, dirs_exist_ok=True, symlinks=True)
    return opt


def _event(files: tuple[str, ...], target: Path) -> Path:
    """One sample event, or the records of several in one batch."""
    if len(files) == 1:
        shutil.copyfile(EVENTS / files[0], target)
        return target
    records: list[Any] = []
    for file in files:
        records.extend(json.loads((EVENTS / file).read_text("utf-8"))["Records"])
    target.write_text(json.dumps({"Records": records}), "utf-8")
    return target


def _without_bytecode(opt: Path, target: Path) -> Path:
    shutil.copytree(opt, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _run(script: str, path: list[str], event: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - this interpreter, isolated, our own script
        # -B: nothing compiled during a sample is kept (/opt is read-only on Lambda); -I would
        # ignore PYTHONDONTWRITEBYTECODE.
        [sys.executable, "-I", "-S", "-B", "-c", script, json.dumps(path), str(event), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(out.read_text("utf-8"))
    failures = (
        (report["response"] or {}).get("batchItemFailures") if isinstance(report["response"], dict) else None
    )
    if failures:
        raise RuntimeError(f"the first invocation failed records: {failures}")
    return report


def measure(samples: int = 5, *, build_dir: Path | None = None) -> dict[str, Any]:
    """Medians of INIT + first invocation per function, with and without the layers' bytecode,
    and of the boto3 baseline; ``cold_start_ratio`` is the slowest function's over the baseline."""
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        if build_dir is None:
            build_dir = scratch / "build"
        if not (build_dir / "template.yaml").is_file():
            build_for_this_machine(build_dir)
        layer_dirs, function_dirs = built_artifacts(build_dir)
        # Template order: ours, then the Powertools layer (here: the bundled one).
        opt = unpack_layers([layer_dirs["SharedLayer"], layer_dirs["PowertoolsBundleLayer"]], scratch / "opt")
        opt_plain = _without_bytecode(opt, scratch / "opt-without-bytecode")
        runtime = runtime_packages(scratch / "var-runtime")
        out = scratch / "out.json"
        with _moto_server() as endpoint:
            events = {name: _event(files, scratch / f"{name}.json") for name, files in FUNCTIONS.items()}
            series: dict[str, list[float]] = {"boto3": []}
            for name in FUNCTIONS:
                series[name] = []
                series[f"{name} without layer bytecode"] = []
            parts: dict[str, list[tuple[float, float]]] = {name: [] for name in FUNCTIONS}
            for round_ in range(samples + 1):  # round 0 warms the page cache only
                for name in FUNCTIONS:
                    env = _lambda_environment(_fresh_stack(endpoint, name), name, function_dirs[name])
                    script = _COLD_START_SCRIPT.format(
                        function=name, region=REGION, remaining_ms=int(function_timeout(name) * 1000)
                    )
                    code = str(function_dirs[name])
                    for opt_dir, key in ((opt, name), (opt_plain, f"{name} without layer bytecode")):
                        report = _run(
                            script, [code, str(opt_dir / "python"), str(runtime)], events[name], out, env
                        )
                        if round_:
                            series[key].append(report["init_ms"] + report["first_call_ms"])
                            if opt_dir is opt:
                                parts[name].append((report["init_ms"], report["first_call_ms"]))
                    baseline = _run(_BASELINE_SCRIPT, [str(runtime)], events[name], out, env)
                    if round_:
                        series["boto3"].append(baseline["init_ms"])
    medians = {key: statistics.median(values) for key, values in series.items()}
    worst = max(FUNCTIONS, key=lambda name: medians[name])
    return {
        "cold_start_ratio": medians[worst] / medians["boto3"],
        "worst": worst,
        "cold_start_ms": {name: medians[name] for name in FUNCTIONS},
        "init_ms": {name: statistics.median(i for i, _ in parts[name]) for name in FUNCTIONS},
        "first_call_ms": {name: statistics.median(f for _, f in parts[name]) for name in FUNCTIONS},
        "without_layer_bytecode_ms": {name: medians[f"{name} without layer bytecode"] for name in FUNCTIONS},
        "boto3_ms": medians["boto3"],
        "samples": samples,
    }


def _lambda_environment(function_env: dict[str, str], name: str, code: Path) -> dict[str, str]:
    return {
        **function_env,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(code.parent),
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(code),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        # X-Ray's segments go by UDP to a daemon that is not there; Lambda's runtime has one.
        "POWERTOOLS_TRACE_DISABLED": "1",
    }


def function_timeout(logical_id: str) -> float:
    """The function's time-out in seconds, as template.yaml gives it."""
    from practitioner_alerts_local.template import load_template  # noqa: PLC0415 - dev-only import

    template = load_template(ROOT / "template.yaml")
    default = template.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    return float(template["Resources"][logical_id].get("Properties", {}).get("Timeout", default))


@contextmanager
def _moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only the first-call part needs moto

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _fresh_stack(endpoint: str, logical_id: str) -> dict[str, str]:
    """Empties the moto server, creates the template's stack on it and stores the sample
    calendar's settings; returns the function's environment as Lambda would set it."""
    import urllib.request  # noqa: PLC0415

    from practitioner_alerts.adapters.dynamodb import CalendarSettingsTable  # noqa: PLC0415
    from practitioner_alerts.domain.settings import CalendarSettings  # noqa: PLC0415
    from practitioner_alerts_local.stack import AwsClients, LocalStack  # noqa: PLC0415

    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - our loopback server
    with urllib.request.urlopen(reset) as reply:  # noqa: S310
        reply.read()
    clients = AwsClients(REGION, endpoint)
    stack = LocalStack.from_files(clients)
    stack.create()
    table = CalendarSettingsTable(clients("dynamodb"), stack.ref("CalendarSettingsTable"))
    for calendar in json.loads((EVENTS / "calendars.json").read_text("utf-8")):
        # As an operator's import: the contacts proven, so that the sender really sends.
        table.put(CalendarSettings.model_validate(calendar).with_contacts_verified())
    return {
        **stack.function_environment(logical_id),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        # moto routes regional endpoints only, not account-based ones.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


def print_table(result: dict[str, Any], out: Any = None) -> None:
    out = out or sys.stdout
    print(
        f"cold start as deployed (INIT + first invocation), median of {result['samples']} fresh interpreters",
        file=out,
    )
    print(f"{'':24}{'INIT':>7}{'1st call':>10}{'sum':>7}{'x boto3':>9}{'no layer .pyc':>15}", file=out)
    base = result["boto3_ms"]
    print(f"{'boto3 + client + 1 call':24}{base:>7.0f}{'':>10}{base:>7.0f}{1:>9.2f}", file=out)
    for name, total in result["cold_start_ms"].items():
        print(
            f"{name:24}{result['init_ms'][name]:>7.0f}{result['first_call_ms'][name]:>10.0f}{total:>7.0f}"
            f"{total / base:>9.2f}{result['without_layer_bytecode_ms'][name]:>15.0f}",
            file=out,
        )
    print(f"cold_start_ratio: {result['cold_start_ratio']:.2f} ({result['worst']}); ms", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--build-dir", type=Path, help="a build for this machine to reuse (made there when missing)"
    )
    args = parser.parse_args(argv)
    result = measure(args.samples, build_dir=args.build_dir)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
