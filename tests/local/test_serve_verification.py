"""Black box: against a running ``serve``, a newly entered mobile number gets only its code
(visible in the outbox) until the code is confirmed; then the next online booking reaches it.
Then the settings API's guards over plain HTTP: ETag and If-Match, PATCH, the country and name
rules, 415 and no-store."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3

from tests.local.conftest import PROJECT_ROOT, booking_item
from tests.local.test_serve import LOOPBACK, api_get, free_port, outbox, wait_for_line

CALENDAR = "cal-dr-neu"
MOBILE = "+4915199998888"


def api_send(method: str, url: str, token: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.load(response)
    except urllib.error.HTTPError as error:
        return int(error.code), json.load(error)


def eventually[T](probe: Callable[[], T | None], seconds: float = 20) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"nothing after {seconds} s")


def test_enter_the_number_confirm_the_code_and_the_next_booking_is_delivered() -> None:
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
            "--realtime-port",
            "0",
            "--no-lambda-logs",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        banner = "".join(wait_for_line(process, "Pipeline running", timeout=30))
        table = next(
            line.split(":", 1)[1].strip() for line in banner.splitlines() if "appointments table" in line
        )
        token = subprocess.run(
            [sys.executable, "-m", "practitioner_alerts_local.cli", "token", "--calendars", CALENDAR],
            capture_output=True,
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
        ).stdout.split()[-1]
        settings_url = f"http://{LOOPBACK}:{api_port}/settings-api/calendars/{CALENDAR}/alert-settings"
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://{LOOPBACK}:{aws_port}",
            region_name="eu-central-1",
            aws_access_key_id="booking-platform",
            aws_secret_access_key="local",
        )

        def sms_to_mobile() -> list[dict[str, Any]]:
            return [m for m in outbox(api_port)["sent"] if m["channel"] == "sms" and m["to"] == MOBILE]

        def in_feed(appointment_id: str) -> bool:
            alerts = api_get(settings_url.replace("alert-settings", "alerts"), token)["alerts"]
            return any(alert["appointment_id"] == appointment_id for alert in alerts)

        # Enter the number: it is pending, and its code shows in the outbox.
        status, saved = api_send("PUT", settings_url, token, {"alert_mobile": "0151 99998888"})
        assert status == 200 and saved["verification"] == {"sms": "pending"}
        [code_sms] = eventually(sms_to_mobile)
        code = re.search(r"\b\d{6}\b", code_sms["text"])
        assert code is not None and CALENDAR in code_sms["text"]

        # Before the confirmation a booking reaches the feed, and no SMS goes to the number.
        dynamodb.put_item(TableName=table, Item=booking_item("apt-before", CALENDAR))
        eventually(lambda: in_feed("apt-before"))
        time.sleep(1)
        assert sms_to_mobile() == [code_sms]

        status, confirmed = api_send(
            "POST", f"{settings_url}/verification/confirm", token, {"channel": "sms", "code": code.group()}
        )
        assert status == 200 and confirmed["verification"] == {"sms": "verified"}
        assert confirmed["channels"] == ["sms", "in_app"]

        # The next online booking is delivered to it.
        dynamodb.put_item(TableName=table, Item=booking_item("apt-after", CALENDAR))
        delivered = eventually(lambda: [m for m in sms_to_mobile() if m["appointment_id"] == "apt-after"])
        assert "Neuer Online-Termin" in delivered[0]["text"]
        assert [m["appointment_id"][:7] for m in sms_to_mobile()] == ["verify-", "apt-aft"]

        check_the_settings_api_guards(api_port, token)
    finally:
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr


def api_call(
    method: str, url: str, token: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Authorization": f"Bearer {token}", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return int(error.code), dict(error.headers), json.load(error)


def check_the_settings_api_guards(api_port: int, token: str) -> None:
    """ETag and If-Match, PATCH, the country list, the name rule, 415 and no-store, over HTTP."""
    url = f"http://{LOOPBACK}:{api_port}/settings-api/calendars/{CALENDAR}/alert-settings"
    as_json = {"Content-Type": "application/json"}
    status, headers, current = api_call("GET", url, token, None, {})
    assert status == 200 and headers["Cache-Control"] == "no-store" and headers["ETag"].startswith('"')

    stale = json.dumps({"alert_mobile": MOBILE, "locale": "fr"}).encode()
    status, _, refused = api_call("PUT", url, token, stale, {**as_json, "If-Match": '"old"'})
    assert status == 412 and refused["code"] == "stale_settings"

    merge = {"Content-Type": "application/merge-patch+json", "If-Match": headers["ETag"]}
    status, _, patched = api_call("PATCH", url, token, json.dumps({"locale": "en"}).encode(), merge)
    assert status == 200 and patched["locale"] == "en" and patched["alert_mobile"] == current["alert_mobile"]
    assert patched["verification"] == current["verification"]

    bad = json.dumps({"alert_mobile": "+881631234567", "practitioner_name": "www.gewinn.example"}).encode()
    status, _, invalid = api_call("PATCH", url, token, bad, {"Content-Type": "application/merge-patch+json"})
    assert status == 422
    assert {e["field"] for e in invalid["errors"]} == {"alert_mobile", "practitioner_name"}

    status, _, unsupported = api_call("PUT", url, token, b"alert_mobile=1", {"Content-Type": "text/plain"})
    assert status == 415 and unsupported["errors"][0]["field"] == "content-type"
