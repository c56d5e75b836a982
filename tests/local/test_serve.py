"""``serve``: a booking written through the moto endpoint shows up in the outbox; SIGTERM stops it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults

import boto3
import pytest

from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.serve import LocalApi
from tests.local.conftest import PROJECT_ROOT, booking_item

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_for_line(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed within {timeout} s: {lines}")


def outbox(api_port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{api_port}/outbox.json", timeout=5) as response:
        return json.load(response)  # type: ignore[no-any-return]


def test_a_booking_written_to_the_endpoint_reaches_the_outbox_and_sigterm_stops_everything() -> None:
    aws_port, api_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "practitioner_alerts_local.cli",
            "serve",
            "--aws-port",
            str(aws_port),
            "--api-port",
            str(api_port),
            # Any free port: the default 8086 may be taken by another serve on this machine.
            "--realtime-port",
            "0",
            # No --lambda-logs: serve is quiet by default.
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        banner = "".join(wait_for_line(process, "Pipeline running", timeout=30))
        assert f"http://{LOOPBACK}:{aws_port}" in banner
        # The real-time endpoint, with the port it really bound (0 asked for any free one).
        realtime = next(word for word in banner.split() if word.startswith(f"ws://{LOOPBACK}:"))
        assert realtime.endswith("/event/realtime") and not realtime.startswith(f"ws://{LOOPBACK}:0/")
        table = next(
            line.split(":", 1)[1].strip() for line in banner.splitlines() if "appointments table" in line
        )

        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://{LOOPBACK}:{aws_port}",
            region_name="eu-central-1",
            aws_access_key_id="booking-platform",
            aws_secret_access_key="local",
        )
        dynamodb.put_item(TableName=table, Item=booking_item("apt-serve"))

        # The stream mapping's 5 s batching window is honoured in real time.
        deadline = time.monotonic() + 20
        sms: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not sms:
            sms = [m for m in outbox(api_port)["sent"] if m["channel"] == "sms"]
            time.sleep(0.25)
        assert [(m["to"], m["appointment_id"]) for m in sms] == [("+4915123456789", "apt-serve")]
        with urllib.request.urlopen(f"http://{LOOPBACK}:{api_port}/outbox", timeout=5) as page:
            assert "Neuer Online-Termin" in page.read().decode()

        # The settings API on the same port: a token from the CLI opens its own calendar only.
        token = subprocess.run(
            [sys.executable, "-m", "practitioner_alerts_local.cli", "token", "--calendars", "cal-dr-weber"],
            capture_output=True,
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
        ).stdout.split()[-1]
        base = f"http://{LOOPBACK}:{api_port}/settings-api/calendars"
        settings = api_get(f"{base}/cal-dr-weber/alert-settings", token)
        assert settings["alert_mobile"] == "+4915123456789"
        feed = api_get(f"{base}/cal-dr-weber/alerts", token)
        assert [a["appointment_id"] for a in feed["alerts"]] == ["apt-serve"]
        assert api_status(f"{base}/cal-other/alert-settings", token) == 403
        assert api_status(f"{base}/cal-dr-weber/alert-settings", None) == 401
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "stopping" in stdout
    assert "+4915123456789" not in stdout  # the console masks recipients; the outbox page shows them
    # Quiet by default: the console's own lines only, none of the functions' JSON logs.
    assert "sent       sms   for apt-serve to +49***789" in stdout
    assert not [line for line in (stdout + stderr).splitlines() if line.lstrip().startswith("{")]
    assert stderr == ""


SERVE = [sys.executable, "-m", "practitioner_alerts_local.cli", "serve"]


@pytest.mark.parametrize("flag", ["--aws-port", "--api-port", "--realtime-port"])
def test_a_taken_port_is_refused_at_once_in_one_line_naming_the_port_and_its_flag(flag: str) -> None:
    ports = {"--aws-port": free_port(), "--api-port": free_port(), "--realtime-port": 0}
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        ports[flag] = int(squatter.getsockname()[1])
        started = time.monotonic()

        result = subprocess.run(
            [*SERVE, *(str(part) for pair in ports.items() for part in pair)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=PROJECT_ROOT,
            check=False,
        )

        elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert elapsed < 2, f"took {elapsed:.1f} s"
    (line,) = result.stderr.splitlines()
    assert f"port {ports[flag]}" in line and f"{flag} PORT" in line
    assert result.stdout == ""


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_stops_within_3_s_even_while_a_record_fails_again_and_again(
    stop_signal: signal.Signals,
) -> None:
    aws_port, api_port = free_port(), free_port()
    process = subprocess.Popen(
        [*SERVE, "--aws-port", str(aws_port), "--api-port", str(api_port), "--realtime-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        banner = wait_for_line(process, "Pipeline running", timeout=30)
        tables = {
            name.strip(): value.strip()
            for name, _, value in (line.partition(":") for line in banner)
            if name.strip() in ("appointments table", "settings table")
        }
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://{LOOPBACK}:{aws_port}",
            region_name="eu-central-1",
            aws_access_key_id="booking-platform",
            aws_secret_access_key="local",
        )
        # Without its settings table the detector fails every attempt, and the stream mapping
        # (MaximumRetryAttempts -1) retries the booking back to back for up to an hour.
        dynamodb.delete_table(TableName=tables["settings table"])
        dynamodb.put_item(TableName=tables["appointments table"], Item=booking_item("apt-poison"))
        time.sleep(3)  # well into the retries (the stream mapping has no batching window)
        assert process.poll() is None
    finally:
        started = time.monotonic()
        process.send_signal(stop_signal)
        try:
            stdout, stderr = process.communicate(timeout=15)
        finally:
            process.kill()
        elapsed = time.monotonic() - started
    assert elapsed < 3, f"took {elapsed:.1f} s to stop"
    assert process.returncode == 0, stderr
    assert "stopping" in stdout


def api_get(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)  # type: ignore[no-any-return]


def api_status(url: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_other_apis_mount_on_the_same_port_under_their_prefix(runtime: LocalRuntime) -> None:
    api = LocalApi(runtime)
    seen: dict[str, str] = {}

    def settings_api(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.update(script=environ["SCRIPT_NAME"], path=environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"settings"]

    api.register_api("/settings", settings_api)

    assert call(api, "/settings/calendars/cal-dr-weber") == ("200 OK", b"settings")
    assert seen == {"script": "/settings", "path": "/calendars/cal-dr-weber"}
    status, body = call(api, "/outbox.json")
    assert status == "200 OK" and set(json.loads(body)) == {"decisions", "sent", "dead_letters"}
    assert call(api, "/nowhere")[0] == "404 Not Found"


def call(app: LocalApi, path: str) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    captured: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"] = status

    body = b"".join(app(environ, start_response))
    return captured["status"], body
