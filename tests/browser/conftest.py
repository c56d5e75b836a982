"""Browser tests: a real ``practitioner-alerts serve`` and Debian's Chromium, driven by Playwright.

One ``serve`` process for the session (free ports, its own calendars file); each test uses its
own calendars, so tests never see each other's alerts. Appointments are written the way the
booking platform writes them, with boto3 against the local AWS endpoint; what went out is read
from the outbox, ``/outbox.json``.

Screenshots go to ``tests/browser/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from practitioner_alerts_local.api import LocalTokenIssuer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path(os.environ.get("PRACTITIONER_ALERTS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = "127.0.0.1"
REGION = "eu-central-1"
# How long a test waits for something a person would wait for (a pop-up, an e-mail in the
# outbox). The pipeline takes a fraction of a second; the margin is for a busy 2-core machine.
PATIENCE_S = 20.0
# A function's first invocation (its cold start) can take seconds on a loaded machine.
expect.set_options(timeout=PATIENCE_S * 1000)

SEEDED_CALENDARS = [
    {
        "calendar_id": "cal-web-fr",
        "practitioner_name": "Dr Claire Martin",
        "time_zone": "Europe/Paris",
        "locale": "fr",
        "alert_email": "cabinet.martin@example.fr",
    },
    {
        "calendar_id": "cal-web-shots-de",
        "practitioner_name": "Dr. Anna Weber",
        "time_zone": "Europe/Berlin",
        "locale": "de",
        "alert_email": "praxis.weber@hotmail.de",
        "alert_mobile": "+49 151 23456789",
    },
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_until[T](what: str, probe: Callable[[], T | None], timeout: float = PATIENCE_S) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


@dataclass
class Serve:
    """A running ``serve``: its URLs, the booking platform's DynamoDB client, and the outbox."""

    api_url: str
    aws_url: str
    realtime_port: int
    appointments_table: str
    process: subprocess.Popen[str]
    log: Path
    issuer: LocalTokenIssuer = field(default_factory=LocalTokenIssuer)

    def __post_init__(self) -> None:
        self.dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=self.aws_url,
            region_name=REGION,
            aws_access_key_id="booking-platform",
            aws_secret_access_key="local",
        )

    def calendar_url(self, calendar_id: str, suffix: str = "") -> str:
        return f"{self.api_url}/calendar/{calendar_id}{suffix}"

    def book(self, appointment_id: str, calendar_id: str, **overrides: str) -> None:
        """An online booking, as the platform writes it."""
        values = {
            "appointment_id": appointment_id,
            "calendar_id": calendar_id,
            "starts_at": "2027-09-09T12:00:00+02:00",
            "status": "booked",
            "changed_at": "2027-09-01T18:30:00+02:00",
            "changed_by": "patient",
            "patient_first_name": "Maria",
            "patient_last_name": "Müller",
            "version": "1",
            **overrides,
        }
        item = {k: {"N": v} if k == "version" else {"S": v} for k, v in values.items()}
        self.dynamodb.put_item(TableName=self.appointments_table, Item=item)

    def cancel(self, appointment_id: str, changed_at: str) -> None:
        """The patient cancels online at ``changed_at``."""
        self.dynamodb.update_item(
            TableName=self.appointments_table,
            Key={"appointment_id": {"S": appointment_id}},
            UpdateExpression=(
                "SET #status = :cancelled, changed_at = :at, changed_by = :patient ADD version :one"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":cancelled": {"S": "cancelled"},
                ":at": {"S": changed_at},
                ":patient": {"S": "patient"},
                ":one": {"N": "1"},
            },
        )

    def outbox(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.api_url}/outbox.json", timeout=10) as response:
            return json.load(response)  # type: ignore[no-any-return]

    def emails_for(self, appointment_id: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.outbox()["sent"]
            if m["channel"] == "email" and m["appointment_id"] == appointment_id
        ]

    def notifications_waiting(self) -> int:
        """Notifications queued or being sent: what the sender still has to deliver."""
        sqs = boto3.client(
            "sqs",
            endpoint_url=self.aws_url,
            region_name=REGION,
            aws_access_key_id="booking-platform",
            aws_secret_access_key="local",
        )
        (url,) = [u for u in sqs.list_queues()["QueueUrls"] if "NotificationQueue" in u and "Dead" not in u]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def decision_for(self, appointment_id: str) -> dict[str, Any] | None:
        found = [d for d in self.outbox()["decisions"] if d.get("appointment_id") == appointment_id]
        return found[-1] if found else None

    def token(self, *calendars: str) -> str:
        """The calendars' practitioner. Each calendar has a person of its own, as in real
        practices: codes and tests are limited per person and hour, across their calendars."""
        return self.issuer.issue_token(list(calendars), subject=f"practitioner-of-{'+'.join(calendars)}")

    def viewer_token(self, *calendars: str) -> str:
        """Someone who works in these calendars (the front desk) but does not administer them."""
        return self.issuer.issue_token([], view_calendars=list(calendars))

    def api(
        self, method: str, path: str, calendar_id: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        """The settings API as the calendar's administrator."""
        status, _headers, answer = self.api_call(method, path, calendar_id, body)
        return status, answer

    def api_call(
        self,
        method: str,
        path: str,
        calendar_id: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """The settings API as the calendar's administrator: status, headers and answer."""
        request = urllib.request.Request(
            f"{self.api_url}/settings-api/calendars/{calendar_id}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {self.token(calendar_id)}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), dict(response.headers), json.load(response)
        except urllib.error.HTTPError as error:
            return int(error.code), dict(error.headers), json.load(error)

    def codes_sent_to(self, contact: str) -> list[str]:
        """The one-time codes that reached ``contact`` (E.164 number or ASCII address), in order."""
        codes = []
        for message in self.outbox()["sent"]:
            if message["to"] == contact and str(message["appointment_id"]).startswith("verify-"):
                found = re.search(r"\b\d{6}\b", message["text"])
                assert found, message["text"]
                codes.append(found.group())
        return codes

    def new_code_for(self, contact: str, known: int = 0) -> str:
        """Waits for a code beyond the ``known`` ones that already reached ``contact``."""
        codes = wait_until(
            f"code number {known + 1} reaches the contact",
            lambda: (found := self.codes_sent_to(contact)) and len(found) > known and found,
        )
        return codes[-1]

    def enter_verified(self, calendar_id: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Saves ``settings`` through the API and confirms each new contact with the code it
        received, as its practitioner would: for tests about something after verification."""
        status, saved = self.api("PUT", "/alert-settings", calendar_id, settings)
        assert status == 200, saved
        for channel, field_name, address in (
            ("email", "alert_email", saved.get("alert_email_ascii")),
            ("sms", "alert_mobile", saved.get("alert_mobile")),
        ):
            if saved["verification"].get(channel) != "pending":
                continue
            code = self.new_code_for(address or saved[field_name])
            status, saved = self.api(
                "POST",
                "/alert-settings/verification/confirm",
                calendar_id,
                {"channel": channel, "code": code},
            )
            assert status == 200, saved
        return saved  # type: ignore[no-any-return]

    def feed(self, calendar_id: str) -> list[dict[str, Any]]:
        status, page = self.api("GET", "/alerts?limit=100", calendar_id)
        assert status == 200, page
        return list(page["alerts"])

    def alert_of(self, calendar_id: str, appointment_id: str) -> dict[str, Any] | None:
        return next((a for a in self.feed(calendar_id) if a["appointment_id"] == appointment_id), None)


def sign_in_with(page: Page, token: str) -> None:
    """The page's token source answers with ``token`` instead of the local issuer's default."""
    page.route(
        "**/local/token?**", lambda route: route.fulfill(json={"token": token, "expires_at": 4102444800})
    )


def _die_with_this_process() -> None:
    """A test run killed outright (a time-out, a closed pipe) must not leave serve running."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start_serve(tmp: Path) -> Serve:
    calendars = tmp / "calendars.json"
    calendars.write_text(json.dumps(SEEDED_CALENDARS), encoding="utf-8")
    aws_port, api_port, realtime_port = free_port(), free_port(), free_port()
    command = [
        sys.executable,
        "-c",
        # `serve` itself, able to say where its threads are when it does not stop in time.
        "import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
        "from practitioner_alerts_local.cli import main; sys.exit(main(sys.argv[1:]))",
        "serve",
        "--aws-port",
        str(aws_port),
        "--api-port",
        str(api_port),
        "--realtime-port",
        str(realtime_port),
        "--calendars",
        str(calendars),
        "--no-lambda-logs",
    ]
    log = (tmp / "serve.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=PROJECT_ROOT,
        preexec_fn=_die_with_this_process,  # noqa: PLW1509 - only prctl, before exec
    )
    assert process.stdout is not None
    banner: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited: {''.join(banner)}{(tmp / 'serve.log').read_text()}")
        banner.append(line)
        if "Pipeline running" in line:
            break
    else:
        raise AssertionError(f"serve did not start: {banner}")
    table = next(line.split(":", 1)[1].strip() for line in banner if "appointments table" in line)
    return Serve(
        api_url=f"http://{LOOPBACK}:{api_port}",
        aws_url=f"http://{LOOPBACK}:{aws_port}",
        realtime_port=realtime_port,
        appointments_table=table,
        process=process,
        log=tmp / "serve.log",
    )


@pytest.fixture(scope="session")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    running = _start_serve(tmp_path_factory.mktemp("serve"))
    # serve prints what it does as it goes; a full pipe would stall it.
    output = running.process.stdout
    drain = threading.Thread(target=lambda: output and output.read(), name="serve-output", daemon=True)
    drain.start()
    try:
        yield running
    finally:
        running.process.send_signal(signal.SIGTERM)
        try:
            running.process.wait(timeout=20)
        except subprocess.TimeoutExpired as late:
            running.process.send_signal(signal.SIGUSR1)
            time.sleep(1)
            running.process.kill()
            threads = running.log.read_text(encoding="utf-8", errors="replace")[-12000:]
            raise AssertionError(f"serve did not stop within 20 s; its threads:\n{threads}") from late
        drain.join(timeout=5)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class PageWatch:
    """What a page did that a person would notice as broken: script errors, alert() dialogs."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Browser, watch: PageWatch) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(PATIENCE_S * 1000)

    def on_console(message: ConsoleMessage) -> None:
        # The browser logs every 4xx/5xx answer and refused WebSocket as an error; the page
        # handles those and shows them, which the tests check on the page itself.
        expected = ("WebSocket connection", "Failed to load resource: the server responded with a status")
        if message.type == "error" and not message.text.startswith(expected):
            watch.errors.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: watch.errors.append(str(error)))
    opened.on("dialog", on_dialog)
    try:
        yield opened
    finally:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
