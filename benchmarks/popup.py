"""Write -> pop-up: from PutItem on serve's AWS endpoint to the pop-up visible in a real browser.

``serve`` runs in this process (its own thread, real time, the template's settings), the calendar
page in Debian's Chromium. Bookings go to the appointments table at a steady rate, the way the
booking platform writes them. Measured side by side in the same run:

* write -> pop-up: the page's own clock when the frame showing the new pop-up is painted
  (a MutationObserver, then requestAnimationFrame), against the wall clock just after PutItem
  returned. Both are this machine's system clock.
* write -> SNS/SES accepted: when emulated SNS or SES answered the sender's call (a botocore
  hook on the default session the functions build their clients from), for each message that
  names its booking's patient: every e-mail, and the SMS of each five-minute window's first
  booking (the rest of a burst to one calendar go in the window's digest SMS at its end, which
  names no patient and comes after the run).
* pushes per alert: ``data`` frames the page's WebSocket received, per alert shown (goal 1).
* catch-up reads per reconnect: feed requests the page made after each of a few forced
  reconnects (the browser taken offline and back).

    .venv/bin/python -m benchmarks.popup [--bookings 50] [--rate 5] [--reconnects 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import re
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from playwright.sync_api import Page, Request, WebSocket, sync_playwright

from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.chaos import accepted_text
from practitioner_alerts_local.serve import serve
from practitioner_alerts_local.stack import DEFAULT_TEMPLATE

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CALENDAR = "cal-bench-popup"
PATIENT = re.compile(r"Bench(\d{4})")
DELIVERIES = {("sns", "Publish"), ("sesv2", "SendEmail")}
# The page records when each pop-up is painted: added to the DOM, then the next frame.
POPUP_CLOCK = """
window.__popups = [];
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.classList && node.classList.contains("toast")) {
        const text = node.textContent;
        requestAnimationFrame(() => window.__popups.push({ text, at: Date.now() / 1000 }));
      }
    }
  }
}).observe(document, { subtree: true, childList: true });
"""


@dataclass(frozen=True)
class PopupLatency:
    bookings: int
    rate_per_second: float
    popups_shown: int
    popup_p50_s: float
    popup_p99_s: float
    popup_max_s: float
    accepted: int
    accepted_p50_s: float
    accepted_p99_s: float
    # Per booking, the pop-up minus its first SMS/e-mail accepted: the feed and push have a FIFO
    # group of their own, so this says how the pop-up keeps up with the messages.
    popup_after_accepted_p50_s: float
    pushes: int
    pushes_per_alert: float
    reconnects: int
    catch_up_reads_per_reconnect: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


class AcceptedClock:
    """When emulated SNS/SES accepted each message of a booking, by the booking's number."""

    def __init__(self) -> None:
        self.accepted: dict[int, list[float]] = {}
        self._lock = threading.Lock()

    def before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if (model.service_model.service_id.hyphenize(), model.name) in DELIVERIES:
            context["bench_popup_params"] = params

    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.get("bench_popup_params")
        if params is None or "Error" in parsed:
            return
        at = time.time()
        found = PATIENT.search(accepted_text(model.service_model.service_id.hyphenize(), params))
        if found:
            with self._lock:
                self.accepted.setdefault(int(found.group(1)), []).append(at)

    @contextlib.contextmanager
    def installed(self) -> Iterator[AcceptedClock]:
        events = boto3._get_default_session().events
        events.register("before-parameter-build", self.before, unique_id="bench-popup-before")
        events.register("after-call", self.after, unique_id="bench-popup-after")
        try:
            yield self
        finally:
            events.unregister("before-parameter-build", unique_id="bench-popup-before")
            events.unregister("after-call", unique_id="bench-popup-after")


@contextlib.contextmanager
def running_serve() -> Iterator[tuple[str, str, str]]:
    """``serve`` in a thread: (AWS endpoint, API base URL, appointments table)."""
    aws_port, api_port, realtime_port = _free_port(), _free_port(), _free_port()
    ready, stop = threading.Event(), threading.Event()
    banner = io.StringIO()
    calendar = CalendarSettings(
        calendar_id=CALENDAR,
        practitioner_name="Dr. Bench",
        time_zone="Europe/Berlin",
        locale="de",
        alert_email="praxis.bench@example.com",
        alert_mobile="+49 151 23456789",
    )
    thread = threading.Thread(
        target=serve,
        kwargs={
            "aws_port": aws_port,
            "api_port": api_port,
            "realtime_port": realtime_port,
            "template_path": DEFAULT_TEMPLATE,
            "calendars": [calendar],
            "lambda_logs": None,
            "out": banner,
            "ready": ready,
            "stop": stop,
        },
        name="serve",
    )
    thread.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("serve did not start within 120 s")
        table = next(
            line.split(":", 1)[1].strip()
            for line in banner.getvalue().splitlines()
            if "appointments table" in line
        )
        yield f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{api_port}", table
    finally:
        stop.set()
        thread.join(timeout=30)


def _booking(number: int, now: datetime) -> dict[str, Any]:
    values = {
        "appointment_id": f"apt-bench-popup-{number:04d}",
        "calendar_id": CALENDAR,
        "starts_at": (now + timedelta(days=3)).isoformat(timespec="seconds"),
        "status": "booked",
        "changed_at": now.isoformat(timespec="seconds"),
        "changed_by": "patient",
        "patient_first_name": "Maria",
        "patient_last_name": f"Bench{number:04d}",
    }
    return {key: {"S": value} for key, value in values.items()}


def _wait_for_state(page: Page, state: str, timeout_s: float = 30) -> None:
    page.locator(f'#connection[data-state="{state}"]').wait_for(timeout=timeout_s * 1000)


def measure(bookings: int = 50, rate_per_second: float = 5.0, reconnects: int = 5) -> PopupLatency:
    clock = AcceptedClock()
    pushes: Counter[str] = Counter()
    feed_reads: list[float] = []

    def on_websocket(socket_: WebSocket) -> None:
        def on_frame(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message.get("type") == "data":
                pushes[json.loads(message["event"])["alert_id"]] += 1

        socket_.on("framereceived", on_frame)

    def on_request(request: Request) -> None:
        if request.method == "GET" and f"/calendars/{CALENDAR}/alerts?" in request.url:
            feed_reads.append(time.monotonic())

    with (
        running_serve() as (aws_url, api_url, table),
        # After serve started: moto's in-process mock gives boto3 a default session of its own.
        clock.installed(),
        sync_playwright() as driver,
    ):
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        page.add_init_script(POPUP_CLOCK)
        page.on("websocket", on_websocket)
        page.on("request", on_request)
        page.goto(f"{api_url}/calendar/{CALENDAR}")
        _wait_for_state(page, "live")
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=aws_url,
            region_name="eu-central-1",
            aws_access_key_id="booking-platform",
            aws_secret_access_key="local",  # noqa: S106 - moto takes any credentials
        )
        written: dict[int, float] = {}
        started = time.monotonic()
        for number in range(bookings):
            time.sleep(max(0.0, started + number / rate_per_second - time.monotonic()))
            dynamodb.put_item(TableName=table, Item=_booking(number, datetime.now(UTC)))
            written[number] = time.time()
        deadline = time.monotonic() + 30
        shown: dict[int, float] = {}
        while time.monotonic() < deadline and len(shown) < bookings:
            for popup in page.evaluate("window.__popups"):
                found = PATIENT.search(popup["text"])
                if found:
                    shown.setdefault(int(found.group(1)), float(popup["at"]))
            time.sleep(0.2)

        reads_per_reconnect: list[int] = []
        for _ in range(reconnects):
            context.set_offline(True)
            _wait_for_state(page, "offline")
            before = len(feed_reads)
            context.set_offline(False)
            _wait_for_state(page, "live")
            # The catch-up starts with subscribe_success; give it time to finish its pages.
            time.sleep(1.0)
            reads_per_reconnect.append(len(feed_reads) - before)
        browser.close()

    popup_delays = [shown[n] - written[n] for n in shown if n in written]
    accepted_delays = [at - written[n] for n, ats in clock.accepted.items() if n in written for at in ats]
    after_accepted = [shown[n] - min(clock.accepted[n]) for n in shown if clock.accepted.get(n)]
    return PopupLatency(
        bookings=bookings,
        rate_per_second=rate_per_second,
        popups_shown=len(shown),
        popup_p50_s=statistics.median(popup_delays) if popup_delays else math.nan,
        popup_p99_s=_percentile(popup_delays, 0.99),
        popup_max_s=max(popup_delays, default=math.nan),
        accepted=len(accepted_delays),
        accepted_p50_s=statistics.median(accepted_delays) if accepted_delays else math.nan,
        accepted_p99_s=_percentile(accepted_delays, 0.99),
        popup_after_accepted_p50_s=statistics.median(after_accepted) if after_accepted else math.nan,
        pushes=sum(pushes.values()),
        pushes_per_alert=sum(pushes.values()) / len(shown) if shown else math.nan,
        reconnects=reconnects,
        catch_up_reads_per_reconnect=(
            statistics.mean(reads_per_reconnect) if reads_per_reconnect else math.nan
        ),
    )


def describe(result: PopupLatency) -> str:
    return (
        f"{result.bookings} bookings at {result.rate_per_second:g}/s: "
        f"write -> pop-up p50 {result.popup_p50_s:.3f} s, p99 {result.popup_p99_s:.3f} s "
        f"({result.popups_shown} shown); write -> SNS/SES accepted p50 {result.accepted_p50_s:.3f} s, "
        f"p99 {result.accepted_p99_s:.3f} s ({result.accepted} messages); pop-up minus the first "
        f"accepted message of its booking p50 {result.popup_after_accepted_p50_s:+.3f} s; "
        f"{result.pushes_per_alert:.2f} pushes per alert; "
        f"{result.catch_up_reads_per_reconnect:.1f} catch-up reads per reconnect "
        f"({result.reconnects} reconnects)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bookings", type=int, default=50)
    parser.add_argument("--rate", type=float, default=5.0, help="bookings per second")
    parser.add_argument("--reconnects", type=int, default=5)
    args = parser.parse_args(argv)
    print(describe(measure(args.bookings, args.rate, args.reconnects)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
