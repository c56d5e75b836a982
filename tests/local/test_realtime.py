"""The local AppSync Events endpoint of ``serve``, driven the way a calendar page drives AWS's:
a ``websockets`` client with the documented subprotocols and messages, tokens from the local
issuer, a booking written through the local AWS endpoint, and an HTTP publish."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from practitioner_alerts_local.api import LocalTokenIssuer
from practitioner_alerts_local.cli import DEFAULT_CALENDARS, read_calendars
from practitioner_alerts_local.serve import serve
from practitioner_alerts_local.stack import DEFAULT_TEMPLATE
from tests.local.conftest import booking_item

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    aws_port: int
    realtime_url: str
    publish_url: str
    host: str
    appointments_table: str


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    stop, ready, out = threading.Event(), threading.Event(), io.StringIO()
    aws_port = free_port()
    thread = threading.Thread(
        target=serve,
        kwargs={
            "aws_port": aws_port,
            "api_port": free_port(),
            "realtime_port": 0,
            "template_path": DEFAULT_TEMPLATE,
            "calendars": read_calendars(DEFAULT_CALENDARS),
            "lambda_logs": None,
            "out": out,
            "ready": ready,
            "stop": stop,
            "poll_interval": 0.1,
        },
        daemon=True,
    )
    thread.start()
    assert ready.wait(60), out.getvalue()
    banner = out.getvalue()
    # The bound port (0 asks for any free one) is in the banner, as the web pages read it.
    realtime_url = next(word for word in banner.split() if word.startswith("ws://"))
    publish_url = next(
        word for word in banner.split() if word.startswith("http://") and word.endswith("/event")
    )
    table = next(
        line.split(":", 1)[1].strip() for line in banner.splitlines() if "appointments table" in line
    )
    try:
        yield Served(aws_port, realtime_url, publish_url, realtime_url.split("/")[2], table)
    finally:
        stop.set()
        thread.join(timeout=30)


def token(calendars: list[str], view: list[str] | None = None) -> str:
    return LocalTokenIssuer().issue_token(calendars, view_calendars=view or [])


def auth_subprotocol(host: str, jwt: str) -> str:
    header = json.dumps({"host": host, "Authorization": jwt}).encode()
    return "header-" + base64.urlsafe_b64encode(header).decode().rstrip("=")


def open_socket(served: Served, jwt: str, *, host: str | None = None) -> ClientConnection:
    return connect(
        served.realtime_url,
        subprotocols=["aws-appsync-event-ws", auth_subprotocol(host or served.host, jwt)],  # type: ignore[list-item]
        open_timeout=10,
    )


def receive(ws: ClientConnection, wanted: str, timeout: float = 10) -> dict[str, Any]:
    """The next message of type ``wanted``, skipping keep-alives."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == wanted:
            return dict(message)
        if message["type"] != "ka":
            raise AssertionError(f"expected {wanted}, got {message}")


@contextlib.contextmanager
def connected(served: Served, jwt: str) -> Iterator[ClientConnection]:
    with open_socket(served, jwt) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        receive(ws, "connection_ack")
        yield ws


def subscribe(served: Served, ws: ClientConnection, channel: str, jwt: str) -> dict[str, Any]:
    subscription_id = str(uuid.uuid4())
    ws.send(
        json.dumps(
            {
                "type": "subscribe",
                "id": subscription_id,
                "channel": channel,
                "authorization": {"host": served.host, "Authorization": jwt},
            }
        )
    )
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] in ("subscribe_success", "subscribe_error"):
            assert message["id"] == subscription_id
            return dict(message)


def publish(served: Served, body: Any, *, signed: bool = True) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if signed:
        # The shape of a SigV4 header; locally the credentials are dummies.
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=local/20270901/eu-central-1/appsync/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, Signature=0000"
        )
    request = urllib.request.Request(served.publish_url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.load(response)
    except urllib.error.HTTPError as error:
        return int(error.code), json.load(error)


# ------------------------------------------------------------------------------------------------
# Connecting
# ------------------------------------------------------------------------------------------------
def test_connection_init_is_acknowledged_and_kept_alive(served: Served) -> None:
    with open_socket(served, token(["cal-dr-weber"])) as ws:
        assert ws.subprotocol == "aws-appsync-event-ws"
        ws.send(json.dumps({"type": "connection_init"}))
        ack = json.loads(ws.recv(timeout=10))
        assert ack == {"type": "connection_ack", "connectionTimeoutMs": 300_000}
        assert json.loads(ws.recv(timeout=10)) == {"type": "ka"}


@pytest.mark.parametrize("case", ["forged", "expired", "wrong host"])
def test_a_bad_token_or_host_is_refused_at_connect(served: Served, case: str, tmp_path: Any) -> None:
    jwt = {
        "forged": LocalTokenIssuer(state_dir=tmp_path).issue_token(["cal-dr-weber"]),
        "expired": LocalTokenIssuer().issue_token(["cal-dr-weber"], lifetime_seconds=60, now=1_000_000_000),
        "wrong host": token(["cal-dr-weber"]),
    }[case]
    with open_socket(served, jwt, host="example.com" if case == "wrong host" else None) as ws:
        message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "connection_error"
        assert message["errors"][0]["errorType"] == "UnauthorizedException"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)


def test_a_message_that_is_not_json_gets_an_error(served: Served) -> None:
    with connected(served, token(["cal-dr-weber"])) as ws:
        ws.send("hello")
        error = receive(ws, "error")
        assert error["errors"][0]["errorType"] == "BadRequestException"


# ------------------------------------------------------------------------------------------------
# Subscribing: the OnSubscribe handler decides
# ------------------------------------------------------------------------------------------------
def test_own_calendar_subscribes_and_others_and_wildcards_are_refused(served: Served) -> None:
    jwt = token(["cal-dr-weber"])
    with connected(served, jwt) as ws:
        assert subscribe(served, ws, "/alerts/cal-dr-weber", jwt)["type"] == "subscribe_success"
        for channel in ("/alerts/cal-dr-hughes", "/alerts/*"):
            refused = subscribe(served, ws, channel, jwt)
            assert refused["type"] == "subscribe_error", channel
            assert refused["errors"][0]["errorType"] == "UnauthorizedException"
            assert "SubscriptionRefused" in refused["errors"][0]["message"]


def test_a_viewer_token_subscribes_to_the_calendar_it_sees(served: Served) -> None:
    jwt = token([], view=["cal-dr-weber"])
    with connected(served, jwt) as ws:
        assert subscribe(served, ws, "/alerts/cal-dr-weber", jwt)["type"] == "subscribe_success"


def test_a_subscribe_without_a_valid_token_is_refused_before_the_handler(served: Served) -> None:
    jwt = token(["cal-dr-weber"])
    with connected(served, jwt) as ws:
        refused = subscribe(served, ws, "/alerts/cal-dr-weber", "not-a-jwt")
        assert refused["type"] == "subscribe_error"
        assert "token was refused" in refused["errors"][0]["message"]


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------
def test_an_online_booking_arrives_as_data_with_its_headline(served: Served) -> None:
    jwt = token(["cal-dr-weber"])
    with connected(served, jwt) as ws:
        subscription = subscribe(served, ws, "/alerts/cal-dr-weber", jwt)
        boto3.client(
            "dynamodb",
            endpoint_url=f"http://{LOOPBACK}:{served.aws_port}",
            region_name="eu-central-1",
            aws_access_key_id="booking-platform",
            aws_secret_access_key="local",
        ).put_item(TableName=served.appointments_table, Item=booking_item("apt-realtime-1"))

        data = receive(ws, "data", timeout=30)

    assert data["id"] == subscription["id"]
    alert = json.loads(data["event"])
    assert alert["appointment_id"] == "apt-realtime-1"
    assert alert["headline"].startswith("Neuer Online-Termin")
    assert "M. Müller" in alert["headline"]
    assert alert["read"] is False
    # The calendar's SMS number and e-mail address (events/calendars.json) never travel with it.
    for contact in ("4915123456789", "praxis.weber@example.com"):
        assert contact not in data["event"], contact
    assert set(alert) == {
        "alert_id",
        "kind",
        "appointment_id",
        "headline",
        "starts_at",
        "previous_starts_at",
        "changed_at",
        "read",
    }


def test_a_publish_reaches_exactly_that_channel_and_unsubscribe_stops_it(served: Served) -> None:
    jwt = token(["cal-dr-weber", "cal-dr-rossi"])
    with connected(served, jwt) as weber, connected(served, jwt) as rossi:
        subscription = subscribe(served, weber, "/alerts/cal-dr-weber", jwt)
        subscribe(served, rossi, "/alerts/cal-dr-rossi", jwt)

        status, answer = publish(
            served, {"channel": "/alerts/cal-dr-weber", "events": ['{"alert_id": "a-1"}']}
        )
        assert (status, answer["failed"], len(answer["successful"])) == (200, [], 1)
        assert json.loads(receive(weber, "data")["event"]) == {"alert_id": "a-1"}

        weber.send(json.dumps({"type": "unsubscribe", "id": subscription["id"]}))
        assert receive(weber, "unsubscribe_success")["id"] == subscription["id"]
        publish(served, {"channel": "/alerts/cal-dr-weber", "events": ['{"alert_id": "a-2"}']})
        with pytest.raises(TimeoutError):
            receive(weber, "data", timeout=1)
        with pytest.raises(TimeoutError):
            receive(rossi, "data", timeout=0.5)  # another calendar's channel heard nothing


def test_a_publish_without_sigv4_is_refused(served: Served) -> None:
    status, answer = publish(served, {"channel": "/alerts/cal-dr-weber", "events": ["{}"]}, signed=False)
    assert status == 401
    assert answer["errors"][0]["errorType"] == "UnauthorizedException"


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "/alerts/*", "events": ["{}"]},
        {"channel": "/alerts/cal-dr-weber", "events": []},
        {"channel": "/alerts/cal-dr-weber", "events": ["{}"] * 6},
        {"channel": "/alerts/cal-dr-weber", "events": ["not json"]},
        {"channel": "/other/cal-dr-weber", "events": ["{}"]},
    ],
)
def test_a_publish_appsync_would_not_take_is_a_400(served: Served, body: Any) -> None:
    status, answer = publish(served, body)
    assert status == 400
    assert answer["errors"][0]["errorType"] == "BadRequestException"
