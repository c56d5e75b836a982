"""The AppSync Events publish adapter against a recording HTTP server on loopback: the request
AWS expects (signed for appsync), and every way an answer can fail."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.credentials import Credentials

from practitioner_alerts.adapters.appsync_events import EventPublisher
from practitioner_alerts.errors import PermanentError, TransientError

CREDENTIALS = Credentials("AKIDEXAMPLE", "secret-example", "session-example")


@dataclass
class Recorder:
    status: int = 200
    answer: Any = None  # None: accept every event
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            recorder.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = recorder.answer or {
                "failed": [],
                "successful": [{"identifier": f"id-{i}", "index": i} for i in range(len(body["events"]))],
            }
            data = json.dumps(answer).encode()
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/event", recorder
    server.shutdown()
    server.server_close()


def test_publish_posts_the_channel_and_events_signed_for_appsync(endpoint: tuple[str, Recorder]) -> None:
    url, recorder = endpoint
    EventPublisher(url, "eu-central-1", CREDENTIALS).publish("/alerts/cal-a", ['{"alert_id": "a-1"}'])

    ((path, headers, body),) = recorder.requests
    assert path == "/event"
    assert body == {"channel": "/alerts/cal-a", "events": ['{"alert_id": "a-1"}']}
    authorization = headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-central-1/appsync/aws4_request" in authorization
    assert "host" in authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert headers["x-amz-security-token"] == "session-example"
    assert headers["x-amz-date"]


def test_failed_entries_count_as_a_failed_publish(endpoint: tuple[str, Recorder]) -> None:
    url, recorder = endpoint
    recorder.answer = {
        "failed": [{"identifier": "x", "index": 0, "code": 500, "message": "boom"}],
        "successful": [],
    }
    with pytest.raises(TransientError, match="1 of 1 events failed"):
        EventPublisher(url, "eu-central-1", CREDENTIALS).publish("/alerts/cal-a", ["{}"])


@pytest.mark.parametrize(
    ("status", "error"), [(500, TransientError), (429, TransientError), (403, PermanentError)]
)
def test_http_errors_map_to_the_projects_errors(
    endpoint: tuple[str, Recorder], status: int, error: type[Exception]
) -> None:
    url, recorder = endpoint
    recorder.status = status
    with pytest.raises(error, match=f"HTTP {status}"):
        EventPublisher(url, "eu-central-1", CREDENTIALS).publish("/alerts/cal-a", ["{}"])


def test_an_endpoint_that_is_not_there_is_a_transient_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    with pytest.raises(TransientError):
        EventPublisher(f"http://127.0.0.1:{port}/event", "eu-central-1", CREDENTIALS).publish(
            "/alerts/a", ["{}"]
        )


def test_more_events_than_appsync_takes_are_refused_before_sending(endpoint: tuple[str, Recorder]) -> None:
    url, recorder = endpoint
    with pytest.raises(PermanentError):
        EventPublisher(url, "eu-central-1", CREDENTIALS).publish("/alerts/a", ["{}"] * 6)
    assert recorder.requests == []
