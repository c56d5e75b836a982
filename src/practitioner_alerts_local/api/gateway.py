"""The settings API on 127.0.0.1, the way API Gateway's HTTP API would put it in front of Lambda.

An HTTP request becomes a payload format 2.0 event: route matched against the template's routes,
headers lower-cased, query string parsed, the JWT checked like the JWT authorizer does and its
claims passed as strings (an array claim as ``"[cal-a cal-b]"``, exactly as AWS flattens it).
The function's answer becomes the HTTP response. Unknown routes get API Gateway's 404 and
missing or bad tokens its 401, before the function is invoked.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from practitioner_alerts_local.api.tokens import InvalidToken, LocalTokenIssuer, bearer_token

Event = dict[str, Any]
Invoke = Callable[[Event], Any]

# The routes of SettingsApiFunction's HttpApi events in template.yaml (a test keeps them equal).
ROUTES: tuple[str, ...] = (
    "GET /calendars/{calendar_id}/alert-settings",
    "PUT /calendars/{calendar_id}/alert-settings",
    "PATCH /calendars/{calendar_id}/alert-settings",
    "POST /calendars/{calendar_id}/alert-settings/test",
    "POST /calendars/{calendar_id}/alert-settings/verification",
    "POST /calendars/{calendar_id}/alert-settings/verification/confirm",
    "GET /calendars/{calendar_id}/alerts",
    "POST /calendars/{calendar_id}/alerts/{alert_id}/read",
    "GET /openapi.json",
)
PUBLIC_ROUTES = frozenset({"GET /openapi.json"})
MAX_BODY_BYTES = 1024 * 1024
# Characters RFC 3986 allows unencoded in a path segment, plus the separator.
_PATH_SAFE = "/-._~!$&'()*+,;=:@"
LOCAL_API_ID = "local"
LOCAL_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _compile(route_key: str) -> tuple[str, re.Pattern[str]]:
    method, _, path = route_key.partition(" ")
    # A path variable matches one segment, like API Gateway's {name} (not {name+}).
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return method, re.compile(f"^{pattern}$")


_COMPILED = [(route_key, *_compile(route_key)) for route_key in ROUTES]


def match_route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route_key, route_method, pattern in _COMPILED:
        found = pattern.match(path)
        if found and route_method == method.upper():
            return route_key, {name: unquote(value) for name, value in found.groupdict().items()}
    return None


def claim_strings(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims the way the HTTP API JWT authorizer hands them to Lambda: every value a string."""

    def as_string(value: Any) -> str:
        if isinstance(value, list | tuple):
            return "[" + " ".join(as_string(item) for item in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict):
            return json.dumps(value, separators=(",", ":"))
        return str(value)

    return {name: as_string(value) for name, value in claims.items()}


def to_event(
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    route_key: str,
    path_parameters: Mapping[str, str],
    claims: Mapping[str, Any] | None,
    source_ip: str = "127.0.0.1",
    now: datetime | None = None,
) -> Event:
    """An HTTP API payload format 2.0 event for one request."""
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        # Repeated headers arrive comma-joined, as API Gateway passes them.
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    moment = now or datetime.now(UTC)
    request_context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "domainName": lowered.get("host", "127.0.0.1"),
        "domainPrefix": lowered.get("host", "127.0.0.1").split(".", 1)[0],
        "http": {
            "method": method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": route_key,
        "stage": "$default",
        "time": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(moment.timestamp() * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": claim_strings(claims), "scopes": None}}
    event: Event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if parameters:
        event["queryStringParameters"] = parameters
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def _gateway_error(status: int, message: str, extra: Iterable[tuple[str, str]] = ()) -> HttpResponse:
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json"), *extra], body)


def from_result(result: Any) -> HttpResponse:
    """Lambda's answer as API Gateway turns it into HTTP (payload format 2.0 rules)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # 2.0: anything without a statusCode is taken as a JSON body with status 200.
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return HttpResponse(int(result["statusCode"]), headers, body)


def invoke_settings_api(event: Event) -> Any:
    """Calls the real Lambda handler in this process, with a Lambda-like context."""
    from functions.settings_api.app import handler  # noqa: PLC0415 - imported once the environment is set

    return handler(event, _LocalContext())


def invoke_in_process(function: Any) -> Invoke:
    """Adapts the local runtime's ``InProcessFunction`` (``.invoke(event)`` -> ``Invocation``):
    an invocation that raised becomes an exception here, which API Gateway answers with 500."""

    def invoke(event: Event) -> Any:
        invocation = function.invoke(event)
        if invocation.error is not None:
            raise invocation.error
        return invocation.response

    return invoke


@dataclass
class _LocalContext:
    function_name: str = "SettingsApiFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:eu-central-1:{LOCAL_ACCOUNT_ID}:function:SettingsApiFunction"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/SettingsApiFunction"
    log_stream_name: str = "local"
    _deadline: float = field(default_factory=lambda: time.monotonic() + 10)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalSettingsApi:
    """Request in, response out: what API Gateway does between a client and the function."""

    issuer: LocalTokenIssuer = field(default_factory=LocalTokenIssuer)
    invoke: Invoke = invoke_settings_api

    def handle_http(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes = b"",
        source_ip: str = "127.0.0.1",
    ) -> HttpResponse:
        path, _, query = target.partition("?")
        header_list = list(headers)
        matched = match_route(method, path)
        if matched is None:
            return _gateway_error(404, "Not Found")
        route_key, path_parameters = matched
        claims: dict[str, Any] | None = None
        if route_key not in PUBLIC_ROUTES:
            token = bearer_token(dict(header_list))
            try:
                if token is None:
                    raise InvalidToken("no bearer token")
                claims = self.issuer.verify(token)
            except InvalidToken:
                return _gateway_error(401, "Unauthorized", [("WWW-Authenticate", "Bearer")])
        event = to_event(
            method,
            path,
            query,
            header_list,
            body,
            route_key=route_key,
            path_parameters=path_parameters,
            claims=claims,
            source_ip=source_ip,
        )
        try:
            result = self.invoke(event)
        except Exception:  # noqa: BLE001 - API Gateway answers any failed invocation with a 500
            return _gateway_error(500, "Internal Server Error")
        return from_result(result)

    def wsgi(self, environ: Mapping[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The same as a WSGI application, for ``serve`` or any WSGI server."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            response = _gateway_error(413, "Request Entity Too Large")
        else:
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            # PATH_INFO arrives percent-decoded (as latin-1); API Gateway's rawPath keeps the
            # encoding, so it is put back (an encoded "?" or "/" must not split the path).
            decoded = str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8", "replace")
            target = quote(decoded, safe=_PATH_SAFE)
            if environ.get("QUERY_STRING"):
                target = f"{target}?{environ['QUERY_STRING']}"
            response = self.handle_http(
                str(environ.get("REQUEST_METHOD", "GET")),
                target,
                _wsgi_headers(environ),
                body,
                source_ip=str(environ.get("REMOTE_ADDR", "127.0.0.1")),
            )
        reason = _REASONS.get(response.status, "Status")
        start_response(f"{response.status} {reason}", response.headers)
        return [response.body]


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _wsgi_headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = [
        (key[5:].replace("_", "-").lower(), str(value))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers.append((key.replace("_", "-").lower(), str(environ[key])))
    return headers


def make_api_app(
    issuer: LocalTokenIssuer | None = None, invoke: Invoke | None = None
) -> Callable[[Mapping[str, Any], Callable[..., Any]], list[bytes]]:
    """A WSGI application serving the settings API; ``invoke`` defaults to the real handler."""
    api = LocalSettingsApi(issuer=issuer or LocalTokenIssuer(), invoke=invoke or invoke_settings_api)
    return api.wsgi


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Request lines carry paths with calendar ids only, but stay off the CLI's stdout."""


@dataclass
class LocalApiServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_api_server(
    host: str = "127.0.0.1",
    port: int = 0,
    issuer: LocalTokenIssuer | None = None,
    invoke: Invoke | None = None,
) -> LocalApiServer:
    """Serves the settings API in a background thread; port 0 picks a free port."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host}: the local settings API listens on loopback addresses only")
    app = make_api_app(issuer, invoke)
    server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="settings-api", daemon=True)
    thread.start()
    return LocalApiServer(server, thread)
