"""The README's `sam local invoke` walk-through, as far as a machine without Docker can take it.

`sam build` builds the functions and both layers (the bundled Powertools one too), `serve
--sam-local` runs the local stack without running any function, and each README command goes
through the real SAM CLI (command line, samconfig.toml's [default.local_invoke], the built
template, parameters, conditions, layers, --env-vars, --add-host) up to where it would start a
container (sam_cli_without_docker.py). The handler then runs as that container would run it: a
fresh python3.13 with nothing on its path but the function's code, the layers' /opt/python and the
runtime's boto3 (lambda_container.py), with the environment SAM CLI resolved, in which only the
host name changes: the container's host.docker.internal is this machine's loopback.

What only Docker shows: the Lambda base image itself, and that host.docker.internal (or
--add-host host-gateway on Linux) reaches serve from inside a container (docs/local-runtime.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from benchmarks.cold_start import build_for_this_machine, runtime_packages, unpack_layers
from practitioner_alerts_local.sam_local import (
    CONTAINER_HOST,
    DEFAULT_AWS_PORT,
    DEFAULT_REALTIME_PORT,
    ENV_VARS_FILE,
    SAMPLE_INVOCATIONS,
    invoke_commands,
)
from tests.local.conftest import PROJECT_ROOT
from tests.local.test_serve import LOOPBACK, free_port, outbox, wait_for_line

SAM_PYTHON = PROJECT_ROOT / ".venv-sam" / "bin" / "python"
HERE = Path(__file__).resolve().parent


@dataclass
class Serve:
    aws_port: int
    api_port: int
    realtime_port: int
    env_vars: Path

    def aws(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=f"http://{LOOPBACK}:{self.aws_port}",
            region_name="eu-central-1",
            aws_access_key_id="developer",
            aws_secret_access_key="local",
        )


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build`, with the layers' wheels for this machine so that this machine can import them
    (Lambda's arm64 is the Makefile's default), in a directory and cache of its own."""
    if not SAM_PYTHON.is_file():
        pytest.fail("no SAM CLI in .venv-sam: `make test` installs it (make .venv-sam/.installed)")
    build = tmp_path_factory.mktemp("sam") / "build"
    build_for_this_machine(build)
    return build


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    aws_port, api_port, realtime_port = free_port(), free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "practitioner_alerts_local.cli",
            "serve",
            "--sam-local",
            "--aws-port",
            str(aws_port),
            "--api-port",
            str(api_port),
            "--realtime-port",
            str(realtime_port),
            "--no-lambda-logs",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        banner = "".join(wait_for_line(process, "--env-vars my-env.json", timeout=60))
        # serve prints the commands this test runs, for this machine's Docker.
        for command in invoke_commands(linux=sys.platform == "linux"):
            assert command in banner
        env_vars = tmp_path_factory.mktemp("env") / "env-local.json"
        generated = subprocess.run(
            [
                sys.executable,
                "-m",
                "practitioner_alerts_local.sam_local",
                "--aws-port",
                str(aws_port),
                "--realtime-port",
                str(realtime_port),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
        ).stdout
        env_vars.write_text(generated, encoding="utf-8")
        yield Serve(aws_port, api_port, realtime_port, env_vars)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


def sam_local_invoke(serve: Serve, build_dir: Path, function: str, event: str, work: Path) -> dict[str, Any]:
    """The README's command for ``function`` and ``event``, through SAM CLI, then the container."""
    captured = work / f"{function}-container.json"
    readme_command = next(
        line for line in invoke_commands(linux=True) if f" {function} " in line and event in line
    ).split()
    assert readme_command[:3] == ["sam", "local", "invoke"]
    # From the repository, `sam local invoke` finds .aws-sam/build/template.yaml and reads
    # ./samconfig.toml; this build lives elsewhere (its wheels are for this machine, not Lambda),
    # and SAM CLI looks for samconfig.toml next to a template it is given, so name both.
    arguments = [
        *readme_command[1:],
        "--template",
        str(build_dir / "template.yaml"),
        "--config-file",
        str(PROJECT_ROOT / "samconfig.toml"),
    ]
    arguments[arguments.index(ENV_VARS_FILE)] = str(serve.env_vars)
    done = subprocess.run(
        [str(SAM_PYTHON), str(HERE / "sam_cli_without_docker.py"), str(captured), *arguments],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and captured.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    container = json.loads(captured.read_text(encoding="utf-8"))

    # The container Lambda would start: python3.13 on arm64, our layer, then the bundled
    # Powertools (no download from AWS), unpacked into /opt in that order.
    assert (container["runtime"], container["architecture"]) == ("python3.13", "arm64")
    assert [Path(layer).name for layer in container["layers"]] == ["SharedLayer", "PowertoolsBundleLayer"]
    opt = unpack_layers([Path(layer) for layer in container["layers"]], work / f"{function}-opt")
    environment = {
        name: value.replace(f"//{CONTAINER_HOST}:", f"//{LOOPBACK}:")
        for name, value in container["environment"].items()
    }
    assert environment["AWS_ENDPOINT_URL"] == f"http://{LOOPBACK}:{serve.aws_port}"
    spec = work / f"{function}-spec.json"
    spec.write_text(
        json.dumps(
            {
                **container,
                "opt_python": str(opt / "python"),
                "runtime": str(runtime_packages(work / "var-runtime")),
            }
        ),
        encoding="utf-8",
    )
    result = work / f"{function}-result.json"
    ran = subprocess.run(
        [sys.executable, "-I", "-S", str(HERE / "lambda_container.py"), str(spec), str(result)],
        env={**environment, "HOME": str(work), "TZ": ":UTC", "LAMBDA_TASK_ROOT": container["code"]},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    (work / f"{function}.log").write_text(ran.stdout + ran.stderr, encoding="utf-8")  # as sam prints it
    assert ran.returncode == 0 and result.is_file(), ran.stdout[-3000:] + ran.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    assert "errorType" not in outcome, outcome.get("trace")
    return outcome


def outbox_once_it_shows_something(serve: Serve) -> list[dict[str, Any]]:
    # serve's loop looks at moto's SNS and SES every 0.2 s.
    deadline = time.monotonic() + 10
    sent: list[dict[str, Any]] = []
    while not sent and time.monotonic() < deadline:
        time.sleep(0.2)
        sent = outbox(serve.api_port)["sent"]
    return sent


def test_the_env_vars_file_in_events_is_what_serve_creates_on_its_default_ports(serve: Serve) -> None:
    generated = serve.env_vars.read_text(encoding="utf-8")
    on_default_ports = generated.replace(f":{serve.aws_port}", f":{DEFAULT_AWS_PORT}").replace(
        f":{serve.realtime_port}", f":{DEFAULT_REALTIME_PORT}"
    )
    committed = (PROJECT_ROOT / ENV_VARS_FILE).read_text(encoding="utf-8")
    assert json.loads(on_default_ports) == json.loads(committed), (
        "events/env-local.json is out of date: `practitioner-alerts serve --sam-local`, then "
        "`python -m practitioner_alerts_local.sam_local > events/env-local.json`"
    )


def test_each_sample_event_replayed_with_sam_local_invoke_does_what_the_readme_says(
    serve: Serve, build_dir: Path, tmp_path: Path
) -> None:
    assert [function for function, _ in SAMPLE_INVOCATIONS] == [
        "DetectorFunction",
        "SenderFunction",
        "DeliveryEventsFunction",
    ]
    sqs = serve.aws("sqs")
    queue = sqs.get_queue_url(QueueName="practitioner-alerts-local-NotificationQueue.fifo")["QueueUrl"]

    # 1. The online booking: the detector queues its alerts, one per channel; nothing is sent,
    #    because with --sam-local no function runs in serve.
    detector = sam_local_invoke(serve, build_dir, *SAMPLE_INVOCATIONS[0], tmp_path)
    assert detector["result"] == {"batchItemFailures": []}
    queued = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    bodies = [json.loads(message["Body"]) for message in queued]
    assert sorted(body["channel"] for body in bodies) == ["email", "in_app", "sms"]
    assert {body["alert"]["appointment_id"] for body in bodies} == {"apt-1001"}
    assert outbox(serve.api_port)["sent"] == []

    # 2. The queued SMS, as events/queue-sms.json holds it: the sender sends it, the outbox shows it.
    sender = sam_local_invoke(serve, build_dir, *SAMPLE_INVOCATIONS[1], tmp_path)
    assert sender["result"] == {"batchItemFailures": []}
    sent = outbox_once_it_shows_something(serve)
    assert [(m["channel"], m["to"]) for m in sent] == [("sms", "+4915123456789")]
    assert sent[0]["text"].startswith("Neuer Online-Termin: M. Müller")

    # 3. SES's bounce of the practitioner's address: the settings page's delivery log has it.
    sam_local_invoke(serve, build_dir, *SAMPLE_INVOCATIONS[2], tmp_path)
    token = subprocess.run(
        [sys.executable, "-m", "practitioner_alerts_local.cli", "token", "--calendars", "cal-dr-weber"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    ).stdout.split()[-1]
    request = urllib.request.Request(
        f"http://{LOOPBACK}:{serve.api_port}/settings-api/calendars/cal-dr-weber/alert-settings",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        settings = json.load(response)
    assert settings["last_delivery_failures"]["email"]["reason"] == "bounce: Permanent/General"


def test_the_layers_ship_byte_code_that_python_313_loads_without_reading_the_source(build_dir: Path) -> None:
    # /opt is read-only on Lambda: without byte code in the layer, every cold start compiles again.
    for layer in ("SharedLayer", "PowertoolsBundleLayer"):
        sources = list((build_dir / layer / "python").rglob("*.py"))
        assert sources, layer
        for source in sources:
            compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
            assert compiled.is_file(), compiled
            # PEP 552: flags 0b01 = hash-based, source not checked (a zip's timestamps would
            # otherwise make it stale on arrival).
            assert int.from_bytes(compiled.read_bytes()[4:8], "little") == 0b01, compiled
