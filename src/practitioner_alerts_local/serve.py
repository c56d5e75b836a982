"""``serve``: a moto server for the booking platform, the pipeline behind it, and an outbox page.

Everything listens on 127.0.0.1 only. The booking platform (or a developer's script) writes
appointments with boto3 ``endpoint_url=http://127.0.0.1:<aws-port>``; the detector and sender
run in a background thread behind emulated triggers in real time (batching windows and
visibility timeouts honoured) and reach the same emulated services in-process; the API port
shows what went out, like a mail catcher.

The real-time port (``--realtime-port``, default 8086) is a local AppSync Events endpoint
(:mod:`practitioner_alerts_local.realtime`): calendar pages subscribe on its WebSocket, the
sender publishes to it, and every subscribe runs the template's OnSubscribe function under the
same invocation lock as everything else.

The API port is a small WSGI dispatcher, :class:`LocalApi`. ``/outbox`` and ``/outbox.json`` are
built in; the settings API is mounted under ``/settings-api`` with :meth:`LocalApi.register_api`,
behind a local JWT check standing in for API Gateway's authorizer.

Lambda runs each function in its own sandbox; here they share one process and swap their
environment into ``os.environ`` per call, so the pipeline thread and API requests take turns
through one lock instead of running handlers side by side.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from moto import mock_aws
from moto.server import ThreadedMotoServer

from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.api import LocalTokenIssuer, invoke_in_process, make_api_app
from practitioner_alerts_local.observe import SentMessage
from practitioner_alerts_local.pages import calendar_page_url, mount_pages
from practitioner_alerts_local.ports import LOOPBACK, bind_or_port_taken, check_ports_free
from practitioner_alerts_local.realtime import LocalRealtime
from practitioner_alerts_local.report import format_dead_letter, format_decision
from practitioner_alerts_local.runtime import LocalRuntime, RunReport, fifo_deduplication_as_on_sqs
from practitioner_alerts_local.sam_local import invoke_commands
from practitioner_alerts_local.stack import AwsClients, LocalStack, samconfig_region

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - only for sam local's containers on Linux, and said so
SETTINGS_API_PREFIX = "/settings-api"
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class LocalApi:
    """The API port: routes by path prefix to WSGI apps; ``/outbox`` is always there."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self._runtime = runtime
        self._mounts: list[tuple[str, WsgiApp]] = []

    def register_api(self, prefix: str, app: WsgiApp) -> None:
        """Mount another HTTP API (e.g. the settings API) under ``prefix`` on the same port.

        The app sees the request with ``SCRIPT_NAME`` set to the prefix and ``PATH_INFO`` to the
        rest, as any WSGI mount does. Longer prefixes win.
        """
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError("prefix must start with '/' and not end with it, e.g. '/settings'")
        self._mounts.append((prefix, app))
        self._mounts.sort(key=lambda mount: len(mount[0]), reverse=True)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        for prefix, app in self._mounts:
            if path == prefix or path.startswith(prefix + "/"):
                environ["SCRIPT_NAME"] = str(environ.get("SCRIPT_NAME", "")) + prefix
                environ["PATH_INFO"] = path[len(prefix) :]
                return app(environ, start_response)
        if path in ("/", "/outbox"):
            # Without the feed, which neither shows: a scan per 3 s refresh slows the pipeline.
            report = self._runtime.report(with_feed=False)
            return _respond(start_response, "200 OK", "text/html; charset=utf-8", outbox_page(report))
        if path == "/outbox.json":
            report = self._runtime.report(with_feed=False)
            body = json.dumps(report.as_json(), ensure_ascii=False, default=str)
            return _respond(start_response, "200 OK", "application/json", body)
        return _respond(
            start_response, "404 Not Found", "text/plain; charset=utf-8", f"no route for {path}\n"
        )


def _respond(start_response: StartResponse, status: str, content_type: str, body: str) -> list[bytes]:
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


# Each e-mail's frame grows to its content: a fixed height cut off the longer footers (French).
# The frames still run no scripts; allow-same-origin only lets this page measure them.
FIT_FRAMES = """
for (const frame of document.querySelectorAll("iframe.email")) {
  const fit = () => {
    const page = frame.contentDocument && frame.contentDocument.documentElement;
    if (page) frame.style.height = page.scrollHeight + 2 + "px";
  };
  frame.addEventListener("load", fit);
  if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit();
}
"""


def outbox_page(report: RunReport) -> str:
    """The developer's mail catcher: every accepted SMS and e-mail, newest first."""
    cards = "\n".join(_card(message) for message in reversed(report.sent)) or "<p>Nothing sent yet.</p>"
    decisions = "\n".join(
        f"<li><code>{html.escape(format_decision(d))}</code></li>" for d in report.decisions
    )
    dead = "\n".join(f"<li><pre>{html.escape(format_dead_letter(e))}</pre></li>" for e in report.dead_letters)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>Outbox - Practitioner Alerts (local)</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #1f2933; }}
.card {{ border: 1px solid #cbd2d9; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }}
.meta {{ color: #52606d; font-size: 13px; }} pre {{ white-space: pre-wrap; }}
iframe {{ width: 100%; height: 320px; border: 1px solid #e4e7eb; }}
</style></head><body>
<h1>Outbox</h1>
<p class="meta">What emulated SNS and SES accepted. Refreshes every 3 s.
JSON: <a href="/outbox.json">/outbox.json</a></p>
{cards}
<h2>Decisions</h2><ul>{decisions or "<li>none yet</li>"}</ul>
<h2>Dead letters</h2><ul>{dead or "<li>none</li>"}</ul>
<script>{FIT_FRAMES}</script>
</body></html>
"""


def _card(message: SentMessage) -> str:
    label = "SMS" if message.channel == "sms" else "E-mail"
    subject = f"<h3>{html.escape(message.subject)}</h3>" if message.subject else ""
    # The HTML part is shown in a sandboxed frame: no scripts, no navigation of this page.
    rendered = (
        f'<iframe class="email" sandbox="allow-same-origin" '
        f'srcdoc="{html.escape(message.html, quote=True)}"></iframe>'
        if message.html
        else ""
    )
    return (
        f'<div class="card"><div class="meta">{label} to {html.escape(message.to)} - '
        f"appointment {html.escape(message.appointment_id or 'unattributed')}</div>"
        f"{subject}<pre>{html.escape(message.text)}</pre>{rendered}</div>"
    )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Page refreshes every 3 s would flood the console."""


def mask(address: str) -> str:
    """Enough of a recipient to tell them apart on the console, not enough to leak it."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{address[:3]}***{address[-3:]}"


class ConsoleLog:
    """Prints what the pipeline decided and sent, as it happens (recipients masked)."""

    def __init__(self, runtime: LocalRuntime, out: TextIO) -> None:
        self._runtime = runtime
        self._out = out
        self._seen = (0, 0, 0)

    def update(self) -> None:
        # Without the feed: a scan of the feed table every loop would slow every pop-up.
        report = self._runtime.report(with_feed=False)
        decisions, sent, dead = self._seen
        for decision in report.decisions[decisions:]:
            self._print("decision   " + format_decision(decision))
        for message in report.sent[sent:]:
            self._print(f"sent       {message.channel:<5} for {message.appointment_id} to {mask(message.to)}")
        for entry in report.dead_letters[dead:]:
            self._print(f"dead letter {entry.get('source')}: {entry.get('reason')}")
        self._seen = (len(report.decisions), len(report.sent), len(report.dead_letters))

    def _print(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()


# Lambda invocations and requests still running when serve is told to stop get this long; then
# the process ends without them (their threads are daemons), as a Lambda sandbox would be frozen.
SHUTDOWN_SECONDS = 2.0


def serve(
    *,
    aws_port: int,
    api_port: int,
    realtime_port: int = 8086,
    template_path: Path,
    calendars: list[CalendarSettings],
    lambda_logs: TextIO | None,
    out: TextIO,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
    poll_interval: float = 0.2,
    sam_local: bool = False,
) -> int:
    """Run until SIGINT / SIGTERM (or ``stop`` is set); returns the exit code.

    Raises :class:`~practitioner_alerts_local.ports.ServeError` (before anything starts) when a
    port is taken.

    ``sam_local``: the stack, outbox, API and real-time endpoint, but no function runs here; the
    developer invokes them with `sam local invoke` (practitioner_alerts_local.sam_local).
    """
    stop = stop or threading.Event()
    check_ports_free({"--aws-port": aws_port, "--api-port": api_port, "--realtime-port": realtime_port})
    # From the start: a Ctrl-C while the stack is being built stops it as cleanly as later.
    _install_signal_handlers(stop)
    # One access-log line per boto3 call from the pipeline's pollers would drown everything else.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Docker Desktop forwards host.docker.internal to the host's loopback; Docker Engine on Linux
    # sends it to the bridge's gateway, so the endpoints the functions call must listen there too.
    bind = ALL_INTERFACES if sam_local and sys.platform == "linux" else LOOPBACK
    moto_server = ThreadedMotoServer(ip_address=bind, port=aws_port, verbose=False)
    moto_server.start()
    api_server: WSGIServer | None = None
    realtime: LocalRealtime | None = None
    pipeline: threading.Thread | None = None
    # The server and moto's in-process mock share one set of emulated services. The platform
    # reaches them over HTTP; the functions here call them in-process, as the embedded stack
    # does: a call over HTTP cost 2.7 times as much, all of it on this process's one
    # interpreter lock, and at 5 bookings a second the pipeline fell behind the writes.
    in_process = contextlib.ExitStack()
    try:
        in_process.enter_context(mock_aws())
        in_process.enter_context(fifo_deduplication_as_on_sqs())
        endpoint = f"http://{LOOPBACK}:{aws_port}"
        # Bound first: port 0 picks a free port, and the stack's Event API resolves to it.
        realtime = LocalRealtime(port=realtime_port, issuer=LocalTokenIssuer(), bind=bind)
        bind_or_port_taken(realtime.start, realtime_port, "--realtime-port")
        clients = AwsClients(samconfig_region())
        stack = LocalStack.from_files(clients, template_path, realtime_endpoint=realtime.host)
        stack.create()
        runtime = LocalRuntime(stack, lambda_logs=lambda_logs)
        runtime.put_calendars(calendars)
        invocations = threading.Lock()
        runtime.realtime = realtime
        realtime.on_subscribe = runtime.on_subscribe(invocations)
        api = LocalApi(runtime)
        api.register_api(SETTINGS_API_PREFIX, _settings_api(runtime, invocations))
        mount_pages(api, settings_api_base=SETTINGS_API_PREFIX, realtime_port=realtime.port)
        api_server = bind_or_port_taken(
            lambda: make_server(LOOPBACK, api_port, api, handler_class=_QuietHandler), api_port, "--api-port"
        )
        console = ConsoleLog(runtime, out)
        # Daemons: an invocation still running at exit must not keep the process alive.
        pipeline = threading.Thread(
            target=_run_pipeline,
            args=(runtime, console, stop, poll_interval, invocations),
            kwargs={"run_functions": not sam_local},
            name="pipeline",
            daemon=True,
        )
        pipeline.start()
        threading.Thread(
            target=api_server.serve_forever, kwargs={"poll_interval": 0.2}, name="api", daemon=True
        ).start()
        first_calendar = calendars[0].calendar_id if calendars else "cal-dr-weber"
        out.write(_banner(runtime, endpoint, api_port, realtime, first_calendar, sam_local=sam_local))
        out.flush()
        if ready is not None:
            ready.set()
        # Timed, so a signal is seen promptly whatever the other threads hold.
        while not stop.wait(0.5):
            pass
        out.write("stopping...\n")
        out.flush()
    finally:
        stop.set()
        _shut_down(api_server, pipeline, realtime, moto_server)
        in_process.close()
    return 0


def _shut_down(
    api_server: WSGIServer | None,
    pipeline: threading.Thread | None,
    realtime: LocalRealtime | None,
    moto_server: ThreadedMotoServer,
) -> None:
    """Stop everything within SHUTDOWN_SECONDS, whatever a request or an invocation is doing.

    The pipeline goes first (it stops between invocations), then the servers it talks to; each
    stop runs in a daemon thread, so one that hangs (a request waiting for the invocation lock,
    moto finishing a call) costs its share of the time, not the exit.
    """
    deadline = time.monotonic() + SHUTDOWN_SECONDS

    def within_deadline(*stops: Callable[[], None]) -> None:
        workers = [threading.Thread(target=stop_one, daemon=True) for stop_one in stops]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def close_api() -> None:
        if api_server is not None:
            api_server.shutdown()
            api_server.server_close()

    within_deadline(close_api, *([pipeline.join] if pipeline is not None else []))
    within_deadline(*([realtime.stop] if realtime is not None else []), moto_server.stop)


def _settings_api(runtime: LocalRuntime, invocations: threading.Lock) -> WsgiApp:
    invoke = invoke_in_process(runtime.function("SettingsApiFunction"))

    def one_at_a_time(event: dict[str, Any]) -> Any:
        with invocations:
            return invoke(event)

    return make_api_app(LocalTokenIssuer(), one_at_a_time)


def _run_pipeline(
    runtime: LocalRuntime,
    console: ConsoleLog,
    stop: threading.Event,
    poll_interval: float,
    invocations: threading.Lock,
    *,
    run_functions: bool = True,
) -> None:
    while not stop.is_set():
        try:
            progressed = False
            if run_functions:
                with invocations:
                    progressed = runtime.step(stop)
            else:
                # What functions invoked elsewhere (sam local invoke) sent still shows in the outbox.
                runtime.observer.collect_unattributed()
            console.update()
        except Exception as error:  # noqa: BLE001 - Lambda's poller would retry too; keep serving
            if stop.is_set():
                return  # moto is going away under it; nothing to report
            sys.stderr.write(f"pipeline poll failed, retrying: {type(error).__name__}: {error}\n")
            progressed = False
        if not progressed:
            stop.wait(poll_interval)


def _install_signal_handlers(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)


def _banner(
    runtime: LocalRuntime,
    endpoint: str,
    api_port: int,
    realtime: LocalRealtime,
    calendar_id: str,
    *,
    sam_local: bool = False,
) -> str:
    stack = runtime.stack
    if sam_local:
        commands = "".join(f"  {line}\n" for line in invoke_commands(linux=sys.platform == "linux"))
        last = (
            "No function runs here: after `sam build`, invoke them with sam local invoke.\n"
            f"{commands}"
            f"  (serve's default ports; other ports: python -m practitioner_alerts_local.sam_local\n"
            "   --aws-port N --realtime-port N > my-env.json, then --env-vars my-env.json)\n"
        )
    else:
        last = "Pipeline running (stream -> detector -> FIFO queue -> sender). Ctrl-C to stop.\n"
    return (
        f"AWS endpoint (moto):  {endpoint}   region {stack.clients.region}, any credentials\n"
        f"  appointments table: {runtime.appointments_table()}\n"
        f"  settings table:     {stack.ref('CalendarSettingsTable')}\n"
        f"Outbox:               http://{LOOPBACK}:{api_port}/outbox  (JSON: /outbox.json)\n"
        f"Settings API:         http://{LOOPBACK}:{api_port}{SETTINGS_API_PREFIX}/calendars/<id>/alert-settings\n"
        f"  token:              practitioner-alerts token --calendars cal-dr-weber\n"
        f"Real-time (AppSync Events): {realtime.websocket_url}\n"
        f"  publish:            {realtime.publish_url}  (SigV4)\n"
        f'  channel:            /alerts/<calendar id>, as the feed\'s "channel" says\n'
        f"Calendar page:        {calendar_page_url(api_port, calendar_id)}  (settings: .../settings)\n"
        f"{last}"
    )
