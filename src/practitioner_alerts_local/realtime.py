"""A local AppSync Events endpoint: the WebSocket calendar pages subscribe on, and the HTTP
publish the sender posts to, on one loopback port and AppSync's own paths.

* ``ws://127.0.0.1:<port>/event/realtime`` speaks AppSync Events' WebSocket protocol: the
  subprotocols ``aws-appsync-event-ws`` and ``header-<base64url JSON {host, Authorization}>``,
  ``connection_init`` -> ``connection_ack`` (with ``connectionTimeoutMs``), keep-alive ``ka``,
  ``subscribe`` (with its own ``authorization``) -> ``subscribe_success`` / ``subscribe_error``,
  ``data`` (each event a JSON string), ``unsubscribe`` -> ``unsubscribe_success``, and ``error``
  for messages it cannot use. Tokens are checked as AppSync's OpenID Connect provider would (the
  local issuer's signature, issuer, audience, expiry) at connect and at every subscribe; then
  the channel namespace's OnSubscribe handler, the real Lambda handler from the template, is
  invoked with the event AppSync sends and decides.
* ``POST http://127.0.0.1:<port>/event`` takes ``{"channel": ..., "events": ["<json>", ...]}``
  with a SigV4 ``Authorization`` header (present and well-formed; locally the credentials are
  dummies and the signature is not recomputed), answers like AppSync (``successful`` /
  ``failed``) and hands each event to the subscribers of exactly that channel.

WebSocket framing is the ``websockets`` library's. Its HTTP parser only takes GET, so the port
is held by a small asyncio server in front: it reads the request head, answers a POST itself,
and relays every other connection byte for byte to a ``websockets`` server on a second,
private loopback port. Relaying keeps each library on its documented path (nothing hands a
half-read socket to websockets' internals), and costs one local hop per WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import http.client
import io
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from practitioner_alerts_local.api.tokens import InvalidToken, LocalTokenIssuer, bearer_token

LOOPBACK = "127.0.0.1"
REALTIME_PATH = "/event/realtime"
PUBLISH_PATH = "/event"
PROTOCOL = Subprotocol("aws-appsync-event-ws")
HEADER_PREFIX = "header-"
# What AppSync tells clients: close the connection after this long without a "ka".
CONNECTION_TIMEOUT_MS = 300_000
MAX_EVENTS_PER_PUBLISH = 5
MAX_REQUEST_HEAD = 64 * 1024
MAX_PUBLISH_BODY = 1024 * 1024
# The namespaces of the local Event API (template: AWS::AppSync::ChannelNamespace).
NAMESPACES = frozenset({"alerts"})

OnSubscribe = Callable[[dict[str, Any]], Any]


class SubscribeFailed(Exception):
    """The OnSubscribe invocation itself failed (a function error, not a refusal)."""


def _error(error_type: str, message: str) -> dict[str, str]:
    return {"errorType": error_type, "message": message}


def decode_auth_header(subprotocols: list[str]) -> dict[str, Any] | None:
    """The ``{host, Authorization}`` object the client put into its ``header-`` subprotocol."""
    for offered in subprotocols:
        if offered.startswith(HEADER_PREFIX):
            encoded = offered[len(HEADER_PREFIX) :]
            try:
                decoded = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
            except (binascii.Error, ValueError):
                return None
            return decoded if isinstance(decoded, dict) else None
    return None


def subscribe_event(channel: str, claims: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
    """What AppSync Events invokes a direct Lambda OnSubscribe handler with, for a caller
    authorised by OpenID Connect."""
    segments = channel.strip("/").split("/")
    return {
        "identity": {
            "sub": claims.get("sub"),
            "issuer": claims.get("iss"),
            "claims": dict(claims),
            "sourceIp": [LOOPBACK],
        },
        "result": None,
        "request": {"headers": dict(headers), "domainName": None},
        "info": {
            "channel": {"path": channel, "segments": segments},
            "channelNamespace": {"name": segments[0]},
            "operation": "SUBSCRIBE",
        },
        "error": None,
        "prev": None,
        "stash": {},
        "outErrors": [],
        "events": None,
    }


def looks_signed(authorization: str | None) -> bool:
    """A SigV4 Authorization header: algorithm, credential scope, signed headers, signature."""
    if not authorization or not authorization.startswith("AWS4-HMAC-SHA256 "):
        return False
    parts = authorization[len("AWS4-HMAC-SHA256 ") :]
    return all(f"{name}=" in parts for name in ("Credential", "SignedHeaders", "Signature"))


@dataclass(eq=False)
class _Subscriber:
    connection: ServerConnection
    subscription_id: str
    channel: str


@dataclass(eq=False)
class _Session:
    connection: ServerConnection
    subscriptions: dict[str, _Subscriber] = field(default_factory=dict)
    keepalive: asyncio.Future[None] | None = None


@dataclass
class LocalRealtime:
    """The endpoint; :meth:`start` binds it (``port=0``: any free port) and runs it in a thread."""

    issuer: LocalTokenIssuer = field(default_factory=LocalTokenIssuer)
    port: int = 8086
    # Where the port listens; the WebSocket server behind it stays on loopback.
    bind: str = LOOPBACK
    # Keep-alive interval; AppSync's is a minute, tests make it short.
    keepalive_seconds: float = 60.0
    # The OnSubscribe handler; it is given the event and returns the function's answer, or
    # raises SubscribeFailed. None refuses every subscription.
    on_subscribe: OnSubscribe | None = None
    published: int = 0
    delivered: int = 0
    _subscribers: dict[str, set[_Subscriber]] = field(default_factory=dict, init=False)
    _sending: set[asyncio.Future[None]] = field(default_factory=set, init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _front: asyncio.Server | None = field(default=None, init=False)
    _sockets: Server | None = field(default=None, init=False)
    _internal_port: int = field(default=0, init=False)

    # -- Lifecycle ------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``: what a client puts as ``host`` into its authorization header."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def websocket_url(self) -> str:
        return f"ws://{self.host}{REALTIME_PATH}"

    @property
    def publish_url(self) -> str:
        return f"http://{self.host}{PUBLISH_PATH}"

    def start(self) -> LocalRealtime:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._open())
            except BaseException as error:  # noqa: BLE001 - handed to the starting thread
                failure.append(error)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=run, name="realtime", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> LocalRealtime:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    async def _open(self) -> None:
        self._sockets = await serve(
            self._session,
            LOOPBACK,
            0,
            subprotocols=[PROTOCOL],
            select_subprotocol=_select_protocol,
            process_request=_only_the_realtime_path,
            # The protocol's own "ka" keeps the connection alive, as on AWS.
            ping_interval=None,
        )
        self._internal_port = int(self._sockets.sockets[0].getsockname()[1])
        self._front = await asyncio.start_server(
            self._front_door, self.bind, self.port, limit=MAX_REQUEST_HEAD
        )
        self.port = int(self._front.sockets[0].getsockname()[1])

    async def _close(self) -> None:
        if self._front is not None:
            self._front.close()
        if self._sockets is not None:
            self._sockets.close()
            await self._sockets.wait_closed()
        if self._front is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._front.wait_closed(), timeout=2)

    # -- The shared port: POST publishes here, everything else goes on to websockets -------------
    async def _front_door(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        if head.startswith(b"POST "):
            await self._publish_request(head, reader, writer)
        else:
            await self._relay(head, reader, writer)

    async def _relay(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, self._internal_port)
        except OSError:
            writer.close()
            return
        upstream_writer.write(head)

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    target.write(chunk)
                    await target.drain()
            except ConnectionError:
                pass
            finally:
                with contextlib.suppress(Exception):
                    target.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def _publish_request(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        request_line, _, header_bytes = head.partition(b"\r\n")
        target = request_line.split(b" ")[1].decode("latin-1") if request_line.count(b" ") >= 2 else ""
        headers = http.client.parse_headers(io.BytesIO(header_bytes))
        length = int(headers.get("Content-Length") or 0)
        if length > MAX_PUBLISH_BODY:
            await _answer(writer, 413, {"errors": [_error("BadRequestException", "the body is too large")]})
            return
        body = await reader.readexactly(length) if length else b""
        status, answer = self._publish(target.split("?", 1)[0], headers.get("Authorization"), body)
        await _answer(writer, status, answer)

    # -- HTTP publish ---------------------------------------------------------------------------
    def _publish(self, path: str, authorization: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        """The answer to one publish request; the events go to the channel's subscribers. Runs on
        the endpoint's event loop."""
        if path != PUBLISH_PATH:
            return 404, {"errors": [_error("NotFoundException", f"no route for POST {path}")]}
        if not looks_signed(authorization):
            # The namespace publishes with AWS_IAM only: an unsigned request is not authorised.
            return 401, {
                "errors": [_error("UnauthorizedException", "You are not authorized to make this call.")]
            }
        try:
            request = json.loads(body)
        except ValueError:
            return 400, {"errors": [_error("BadRequestException", "the body is not JSON")]}
        problem = _publish_problem(request)
        if problem is not None:
            return 400, {"errors": [_error("BadRequestException", problem)]}
        channel, events = request["channel"], request["events"]
        successful = []
        for index, event in enumerate(events):
            self._deliver(channel, event)
            successful.append({"identifier": str(uuid.uuid4()), "index": index})
        self.published += len(events)
        return 200, {"failed": [], "successful": successful}

    def _deliver(self, channel: str, event: str) -> None:
        for subscriber in list(self._subscribers.get(channel, ())):
            message = json.dumps({"type": "data", "id": subscriber.subscription_id, "event": event})
            # On the loop's thread (_publish is called from _front_door): the sends are queued
            # in order, and held on to until done so that none is collected half-way.
            task = asyncio.ensure_future(_send_quietly(subscriber.connection, message))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
            self.delivered += 1

    # -- WebSocket sessions ---------------------------------------------------------------------
    async def _session(self, connection: ServerConnection) -> None:
        request = connection.request
        offered = request.headers.get_all("Sec-WebSocket-Protocol") if request else []
        subprotocols = [p.strip() for value in offered for p in value.split(",")]
        problem = self._connection_problem(decode_auth_header(subprotocols))
        if problem is not None:
            await _send_quietly(connection, json.dumps({"type": "connection_error", "errors": [problem]}))
            await connection.close(code=1008, reason=problem["errorType"])
            return
        session = _Session(connection)
        try:
            async for raw in connection:
                await self._handle(session, _parse(raw))
        except ConnectionClosed:
            pass
        finally:
            if session.keepalive is not None:
                session.keepalive.cancel()
            for subscriber in session.subscriptions.values():
                self._forget(subscriber)

    async def _handle(self, session: _Session, message: dict[str, Any] | None) -> None:
        connection = session.connection
        kind = message.get("type") if message is not None else None
        if message is None or not isinstance(kind, str):
            errors = [_error("BadRequestException", "not a JSON message with a type")]
            await connection.send(json.dumps({"type": "error", "errors": errors}))
        elif kind == "connection_init":
            ack = {"type": "connection_ack", "connectionTimeoutMs": CONNECTION_TIMEOUT_MS}
            await connection.send(json.dumps(ack))
            if session.keepalive is None:
                session.keepalive = asyncio.ensure_future(self._keep_alive(connection))
        elif kind == "subscribe":
            await self._subscribe(connection, message, session.subscriptions)
        elif kind == "unsubscribe":
            await self._unsubscribe(connection, message, session.subscriptions)
        elif kind == "publish":
            errors = [
                _error("UnauthorizedException", "this namespace takes publishes over HTTP, signed with IAM")
            ]
            await connection.send(
                json.dumps({"type": "publish_error", "id": message.get("id"), "errors": errors})
            )
        else:
            errors = [_error("UnsupportedOperation", f"unknown message type {kind!r}")]
            await connection.send(json.dumps({"type": "error", "id": message.get("id"), "errors": errors}))

    def _connection_problem(self, auth: dict[str, Any] | None) -> dict[str, str] | None:
        if auth is None:
            return _error("UnauthorizedException", "no header- subprotocol with {host, Authorization}")
        if auth.get("host") != self.host:
            return _error("UnauthorizedException", f"host must be this API's HTTP domain, {self.host}")
        return self._token_problem(auth)

    def _token_problem(self, auth: Mapping[str, Any]) -> dict[str, str] | None:
        try:
            self._claims(auth)
        except InvalidToken as error:
            return _error("UnauthorizedException", f"the token was refused: {error}")
        return None

    def _claims(self, auth: Mapping[str, Any]) -> dict[str, Any]:
        value = auth.get("Authorization") or auth.get("authorization")
        if not isinstance(value, str) or not value.strip():
            raise InvalidToken("no Authorization")
        # AppSync takes the OIDC token as it is, and also tolerates a "Bearer " prefix.
        token = bearer_token({"Authorization": value}) or value.strip()
        return self.issuer.verify(token)

    async def _keep_alive(self, connection: ServerConnection) -> None:
        while True:
            await _send_quietly(connection, json.dumps({"type": "ka"}))
            await asyncio.sleep(self.keepalive_seconds)

    async def _subscribe(
        self, connection: ServerConnection, message: Mapping[str, Any], mine: dict[str, _Subscriber]
    ) -> None:
        subscription_id, channel = message.get("id"), message.get("channel")

        async def refuse(error_type: str, text: str) -> None:
            reply = {"type": "subscribe_error", "id": subscription_id, "errors": [_error(error_type, text)]}
            await connection.send(json.dumps(reply))

        if not isinstance(subscription_id, str) or not subscription_id:
            await refuse("BadRequestException", "subscribe needs an id")
            return
        if subscription_id in mine:
            await refuse("BadRequestException", "this connection already has a subscription with that id")
            return
        if not isinstance(channel, str) or not _is_channel(channel):
            await refuse("BadRequestException", "channel must be /<namespace>/<segment>... (1 to 5 segments)")
            return
        if channel.strip("/").split("/")[0] not in NAMESPACES:
            await refuse("BadRequestException", "no such channel namespace")
            return
        authorization = message.get("authorization")
        if not isinstance(authorization, Mapping):
            await refuse("UnauthorizedException", "subscribe needs an authorization object")
            return
        try:
            claims = self._claims(authorization)
        except InvalidToken as error:
            await refuse("UnauthorizedException", f"the token was refused: {error}")
            return
        headers = {"host": str(authorization.get("host", "")), "sec-websocket-protocol": str(PROTOCOL)}
        try:
            answer = await asyncio.to_thread(
                self._ask_on_subscribe, subscribe_event(channel, claims, headers)
            )
        except SubscribeFailed as error:
            await refuse("InternalFailure", str(error))
            return
        if isinstance(answer, Mapping) and answer.get("error"):
            await refuse("UnauthorizedException", str(answer["error"]))
            return
        subscriber = _Subscriber(connection, subscription_id, channel)
        mine[subscription_id] = subscriber
        self._subscribers.setdefault(channel, set()).add(subscriber)
        await connection.send(json.dumps({"type": "subscribe_success", "id": subscription_id}))

    def _ask_on_subscribe(self, event: dict[str, Any]) -> Any:
        if self.on_subscribe is None:
            return {"error": "no OnSubscribe handler is configured"}
        return self.on_subscribe(event)

    async def _unsubscribe(
        self, connection: ServerConnection, message: Mapping[str, Any], mine: dict[str, _Subscriber]
    ) -> None:
        subscription_id = message.get("id")
        subscriber = mine.pop(subscription_id, None) if isinstance(subscription_id, str) else None
        if subscriber is None:
            errors = [_error("BadRequestException", "no subscription with that id on this connection")]
            await connection.send(
                json.dumps({"type": "unsubscribe_error", "id": subscription_id, "errors": errors})
            )
            return
        self._forget(subscriber)
        await connection.send(json.dumps({"type": "unsubscribe_success", "id": subscription_id}))

    def _forget(self, subscriber: _Subscriber) -> None:
        listeners = self._subscribers.get(subscriber.channel)
        if listeners is not None:
            listeners.discard(subscriber)
            if not listeners:
                del self._subscribers[subscriber.channel]


def _select_protocol(connection: ServerConnection, offered: Any) -> Subprotocol | None:
    return PROTOCOL if PROTOCOL in offered else None


def _only_the_realtime_path(connection: ServerConnection, request: Any) -> Any:
    if request.path.split("?", 1)[0] != REALTIME_PATH:
        return connection.respond(http.HTTPStatus.NOT_FOUND, f"no WebSocket at {request.path}\n")
    return None


def _is_channel(channel: str) -> bool:
    if not channel.startswith("/"):
        return False
    segments = channel[1:].split("/")
    return 1 <= len(segments) <= 5 and all(segments)


def _publish_problem(request: Any) -> str | None:
    if not isinstance(request, dict):
        return "the body must be a JSON object"
    channel, events = request.get("channel"), request.get("events")
    if not isinstance(channel, str) or not _is_channel(channel) or "*" in channel:
        return "channel must be a channel path without wildcards, e.g. /alerts/cal-a"
    if channel.strip("/").split("/")[0] not in NAMESPACES:
        return "no such channel namespace"
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS_PER_PUBLISH:
        return f"events must be a list of 1 to {MAX_EVENTS_PER_PUBLISH} JSON strings"
    for event in events:
        if not isinstance(event, str):
            return "each event must be a string holding JSON"
        try:
            json.loads(event)
        except ValueError:
            return "each event must be a string holding JSON"
    return None


def _parse(raw: str | bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


async def _send_quietly(connection: ServerConnection, message: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await connection.send(message)


async def _answer(writer: asyncio.StreamWriter, status: int, body: Mapping[str, Any]) -> None:
    data = json.dumps(body).encode("utf-8")
    reason = http.HTTPStatus(status).phrase
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode("latin-1")
        + data
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()
