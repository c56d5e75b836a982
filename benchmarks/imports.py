"""Benchmark: cold import time of each Lambda handler against ``import boto3``.

Every sample is a fresh interpreter (``python -c "import functions.detector.app"``), timed as a
whole process, so interpreter start-up, ``site`` and bytecode loading count as they do on Lambda.
Handler and boto3 samples alternate (handler A, boto3, handler B, boto3, ...) so that a busy
machine slows both sides alike; the figures are medians. ``import_ratio_max`` is the slowest
handler's median over boto3's. A process's wall time includes the interpreter's exit, which
grows with what was loaded (~150 ms for a handler that loads everything, ~40 ms for boto3) and
which Lambda never waits for: the in-process figures of the first-call part leave it out.

Lazy imports do not make work disappear, they move it to the first invocation. ``first_call_ms``
therefore shows what that first invocation costs: a fresh interpreter imports the handler and
invokes it once on a sample event from ``events/``, against the template's tables and queues on
a moto server started here (real boto3 clients, real HTTP to 127.0.0.1).

    .venv/bin/python -m benchmarks.imports [--samples 11] [--first-call-samples 5] [--no-first-call]

Run with the Lambda variables (``AWS_LAMBDA_FUNCTION_NAME``, ``LAMBDA_TASK_ROOT``) and without:
outside Lambda Powertools' Tracer disables itself, but the X-Ray SDK it imports still builds a
sampler with a botocore session; inside Lambda the SDK is cheap and the Tracer patches botocore.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

HANDLERS = {
    "detector": "functions.detector.app",
    "sender": "functions.sender.app",
    "settings_api": "functions.settings_api.app",
    "delivery_events": "functions.delivery_events.app",
}
BASELINE = "boto3"

# What makes Powertools (and the X-Ray SDK) believe they run on Lambda.
LAMBDA_ENVIRONMENT = {"AWS_LAMBDA_FUNCTION_NAME": "x", "LAMBDA_TASK_ROOT": "/tmp"}  # noqa: S108
# Variables of the caller's shell that would change what a sample imports or how long it takes.
_CLEARED = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "LAMBDA_TASK_ROOT",
    "AWS_SAM_LOCAL",
    "CHALICE_LOCAL",
    "POWERTOOLS_TRACE_DISABLED",
    "_X_AMZN_TRACE_ID",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONSTARTUP",
    "PYTHONVERBOSE",
)

# The functions' logical ids in template.yaml and the events a first call is measured on.
_FIRST_CALLS = {
    "detector": ("DetectorFunction", ("stream-online-booking.json",)),
    # An SMS and an e-mail in one batch: both renderers (Babel, Jinja2) run.
    "sender": ("SenderFunction", ("queue-sms.json", "queue-email.json")),
}
REGION = "eu-central-1"
# X-Ray's header as Lambda sets it for a sampled invocation; the SDK sends its segments by UDP
# to 127.0.0.1:2000, where nothing listens (nothing to wait for, nothing leaves the machine).
_TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

# Runs in the fresh interpreter: import the handler, then invoke it once, and say how long each
# took. The event is read before the clock starts; json is imported by the handler anyway.
_FIRST_CALL_SCRIPT = """
import json, sys, time
event = json.loads(open(sys.argv[1], encoding="utf-8").read())
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
started = time.perf_counter()
import {module} as app
imported = time.perf_counter()
response = app.handler(event, Context())
called = time.perf_counter()
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump({{"import_ms": (imported - started) * 1000, "first_call_ms": (called - imported) * 1000,
               "response": response}}, out)
"""


def environment(*, lambda_env: bool, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    if lambda_env:
        env.update(LAMBDA_ENVIRONMENT)
    env.update(extra or {})
    return env


def _run(args: list[str], env: Mapping[str, str]) -> float:
    """Wall time of one fresh interpreter, in ms."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def _import_ms(module: str, env: Mapping[str, str]) -> float:
    return _run(["-c", f"import {module}"], env)


def measure(
    samples: int = 11,
    *,
    lambda_env: bool = False,
    first_call: bool = True,
    first_call_samples: int = 5,
) -> dict[str, Any]:
    """Median cold import time of every handler and of boto3, and the worst handler's ratio.

    ``lambda_env`` sets the variables that make Powertools act as on Lambda (Tracer enabled).
    ``first_call`` adds ``first_call_ms`` (and ``cold_ms``, import plus first call in one
    process) for the detector and the sender; it needs moto's server (the dev extra).
    """
    env = environment(lambda_env=lambda_env)
    for module in (BASELINE, *HANDLERS.values()):
        _import_ms(module, env)  # bytecode written, files in the page cache: what Lambda has too
    handler_samples: dict[str, list[float]] = {name: [] for name in HANDLERS}
    boto3_samples: list[float] = []
    names = list(HANDLERS)
    for round_ in range(samples):
        # Rotate the order so that no handler always follows the same one.
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            handler_samples[name].append(_import_ms(HANDLERS[name], env))
            boto3_samples.append(_import_ms(BASELINE, env))
    boto3_ms = statistics.median(boto3_samples)
    handlers_ms = {name: statistics.median(values) for name, values in handler_samples.items()}
    worst = max(handlers_ms, key=handlers_ms.__getitem__)
    result: dict[str, Any] = {
        "import_ratio_max": handlers_ms[worst] / boto3_ms,
        "boto3_ms": boto3_ms,
        "handlers_ms": handlers_ms,
        "worst": worst,
        "samples": samples,
        "lambda_env": lambda_env,
    }
    if first_call:
        try:
            import moto.server  # noqa: F401, PLC0415 - the first-call part needs the dev extra
        except ImportError as missing:
            result["first_call_skipped"] = f"needs moto's server: {missing}"
        else:
            result.update(measure_first_calls(first_call_samples, lambda_env=lambda_env))
    return result


def measure_first_calls(samples: int = 5, *, lambda_env: bool = False) -> dict[str, Any]:
    """Import plus one invocation of the detector and the sender, each in a fresh interpreter.

    Before every sample the moto server is reset and the stack created anew, so the sender
    finds no idempotency record and really renders and sends.
    """
    first: dict[str, list[float]] = {name: [] for name in _FIRST_CALLS}
    imported: dict[str, list[float]] = {name: [] for name in _FIRST_CALLS}
    cold: dict[str, list[float]] = {name: [] for name in _FIRST_CALLS}
    with _moto_server() as endpoint, tempfile.TemporaryDirectory() as scratch:
        events = {
            name: _event(files, Path(scratch) / f"{name}.json") for name, (_, files) in _FIRST_CALLS.items()
        }
        out = Path(scratch) / "out.json"
        for _ in range(samples + 1):  # the first round only warms up (bytecode, page cache)
            for name, (logical_id, _files) in _FIRST_CALLS.items():
                function_env = _fresh_stack(endpoint, logical_id)
                env = environment(lambda_env=lambda_env, extra=function_env)
                if lambda_env:
                    env["_X_AMZN_TRACE_ID"] = _TRACE_HEADER
                script = _FIRST_CALL_SCRIPT.format(
                    module=HANDLERS[name],
                    function=logical_id,
                    region=REGION,
                    # A first call has the whole of the function's time-out, as on Lambda; the
                    # sender starts no message without the time for all its calls.
                    remaining_ms=int(function_timeout(logical_id) * 1000),
                )
                wall = _run(["-c", script, str(events[name]), str(out)], env)
                report = json.loads(out.read_text("utf-8"))
                failures = (report["response"] or {}).get("batchItemFailures")
                if failures:
                    raise RuntimeError(f"{name}: the first call failed records: {failures}")
                first[name].append(report["first_call_ms"])
                imported[name].append(report["import_ms"])
                cold[name].append(wall)
    return {
        "first_call_ms": {name: statistics.median(values[1:]) for name, values in first.items()},
        "first_call_import_ms": {name: statistics.median(values[1:]) for name, values in imported.items()},
        "cold_ms": {name: statistics.median(values[1:]) for name, values in cold.items()},
        "first_call_samples": samples,
    }


def function_timeout(logical_id: str) -> float:
    """The function's time-out in seconds, as template.yaml gives it."""
    from practitioner_alerts_local.template import load_template  # noqa: PLC0415 - dev-only import

    template = load_template(ROOT / "template.yaml")
    default = template.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    return float(template["Resources"][logical_id].get("Properties", {}).get("Timeout", default))


def _event(files: tuple[str, ...], target: Path) -> Path:
    records: list[Any] = []
    for file in files:
        records.extend(json.loads((EVENTS / file).read_text("utf-8"))["Records"])
    target.write_text(json.dumps({"Records": records}), "utf-8")
    return target


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


def print_table(result: Mapping[str, Any], out: Any = None) -> None:
    out = out or sys.stdout
    where = "Lambda variables set" if result["lambda_env"] else "no Lambda variables"
    print(f"cold import, median of {result['samples']} fresh interpreters ({where})", file=out)
    print(f"{'':18}{'ms':>8}{'x boto3':>10}", file=out)
    print(f"{'boto3':18}{result['boto3_ms']:>8.0f}{1:>10.2f}", file=out)
    for name, ms in result["handlers_ms"].items():
        print(f"{name:18}{ms:>8.0f}{ms / result['boto3_ms']:>10.2f}", file=out)
    print(f"import_ratio_max: {result['import_ratio_max']:.2f} ({result['worst']})", file=out)
    if "first_call_ms" in result:
        print(
            f"import + first invocation in one fresh interpreter, median of {result['first_call_samples']} "
            "(moto server on 127.0.0.1)",
            file=out,
        )
        print(f"{'':18}{'import':>8}{'1st call':>10}{'sum':>8}{'process':>9}", file=out)
        for name, ms in result["first_call_ms"].items():
            imported = result["first_call_import_ms"][name]
            print(
                f"{name:18}{imported:>8.0f}{ms:>10.0f}{imported + ms:>8.0f}{result['cold_ms'][name]:>9.0f}",
                file=out,
            )
        print(
            "(ms; import and 1st call timed inside the interpreter, process = its whole wall time,"
            " start-up and exit included)",
            file=out,
        )
    elif "first_call_skipped" in result:
        print(f"first invocation not measured: {result['first_call_skipped']}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=11)
    parser.add_argument("--first-call-samples", type=int, default=5)
    parser.add_argument("--no-first-call", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    args = parser.parse_args(argv)
    results = [
        measure(
            args.samples,
            lambda_env=lambda_env,
            first_call=not args.no_first_call,
            first_call_samples=args.first_call_samples,
        )
        for lambda_env in (False, True)
    ]
    if args.json:
        print(json.dumps({"without_lambda_env": results[0], "with_lambda_env": results[1]}, indent=2))
        return 0
    for index, result in enumerate(results):
        if index:
            print(file=sys.stdout)
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
