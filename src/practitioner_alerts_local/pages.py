"""The reference web pages on ``serve``'s API port: the calendar page and the settings page.

``/calendar/<calendar_id>`` and ``/calendar/<calendar_id>/settings`` answer the static pages of
``web/``; ``/web/...`` their modules, styles and translations, and ``/web/config.json`` the
config this stack's pages need (settings API base, real-time URL and host, token source). On
AWS the platform hosts ``web/`` itself and writes its own ``config.json`` (docs/front-end.md).

``/local/token`` is **development only**: it hands a token from the local issuer to anyone who
asks, so that the pages work without a user pool. It exists only here, in the local runtime,
which binds to 127.0.0.1; nothing in the SAM template or the layer serves it.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from practitioner_alerts_local.api import LocalTokenIssuer
from practitioner_alerts_local.stack import PROJECT_ROOT

WEB_ROOT = PROJECT_ROOT / "web"
CALENDAR_PREFIX = "/calendar"
ASSETS_PREFIX = "/web"
# Where the development-only token is handed out (a URL, not a secret).
TOKEN_PREFIX = "/local"  # noqa: S105
TOKEN_PATH = "/local/token"  # noqa: S105
DEFAULT_REALTIME_PORT = 8086
# What a page may load: its own modules, styles and translations. Anything else is 404.
ASSET_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# Bounds of ?lifetime= (seconds): short tokens let a developer watch the page refresh one.
MIN_TOKEN_SECONDS, MAX_TOKEN_SECONDS = 30, 12 * 3600
ACCESS_LEVELS = ("administer", "view")
_CALENDAR_PAGE = re.compile(r"^/(?P<calendar>[^/]+)(?P<settings>/settings)?/?$")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Mountable(Protocol):
    def register_api(self, prefix: str, app: WsgiApp) -> None: ...


@dataclass(frozen=True)
class PagesConfig:
    """What the pages of this stack need to know; served as ``/web/config.json``."""

    settings_api_base: str
    realtime_url: str | None
    realtime_host: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "settingsApiBase": self.settings_api_base,
            "realtimeUrl": self.realtime_url,
            "realtimeHost": self.realtime_host,
            "tokenUrl": TOKEN_PATH + "?calendar={calendar_id}",
            "developmentOnly": True,
        }

    @property
    def content_security_policy(self) -> str:
        # Scripts, styles and data from this origin only: even a name that slipped into markup
        # could not load or run anything. The real-time endpoint is another port, hence origin.
        sockets = f" {self.realtime_url}" if self.realtime_url else ""
        return (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'"
        )


def local_pages_config(settings_api_base: str, realtime_port: int | None) -> PagesConfig:
    if realtime_port is None:
        return PagesConfig(settings_api_base, None, None)
    host = f"127.0.0.1:{realtime_port}"
    return PagesConfig(settings_api_base, f"ws://{host}/event/realtime", host)


class LocalPages:
    """Three WSGI apps for :class:`~practitioner_alerts_local.serve.LocalApi`'s mounts."""

    def __init__(
        self, config: PagesConfig, issuer: LocalTokenIssuer | None = None, web_root: Path = WEB_ROOT
    ) -> None:
        self._config = config
        self._issuer = issuer or LocalTokenIssuer()
        self._root = web_root.resolve()

    def mount(self, api: Mountable) -> None:
        api.register_api(CALENDAR_PREFIX, self.calendar_pages)
        api.register_api(ASSETS_PREFIX, self.assets)
        api.register_api(TOKEN_PREFIX, self.development_token)

    def calendar_pages(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """``/calendar/<id>``: the calendar page; ``/calendar/<id>/settings``: the settings form."""
        found = _CALENDAR_PAGE.match(_path(environ))
        if _method(environ) != "GET":
            return self._answer(start_response, "405 Method Not Allowed", "text/plain", b"GET only\n")
        if not found or not unquote(found["calendar"]).strip():
            return self._answer(
                start_response,
                "404 Not Found",
                "text/plain; charset=utf-8",
                b"Open /calendar/<calendar_id> or /calendar/<calendar_id>/settings\n",
            )
        page = "settings.html" if found["settings"] else "calendar.html"
        return self._answer(start_response, "200 OK", ASSET_TYPES[".html"], (self._root / page).read_bytes())

    def assets(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = _path(environ)
        if path == "/config.json":
            body = json.dumps(self._config.as_json()).encode()
            return self._answer(start_response, "200 OK", "application/json", body)
        file = self._asset(path)
        if file is None:
            return self._answer(start_response, "404 Not Found", "text/plain", b"no such asset\n")
        content_type = ASSET_TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "text/plain"
        return self._answer(start_response, "200 OK", content_type, file.read_bytes())

    def development_token(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """DEVELOPMENT ONLY: ``/local/token?calendar=<id>[&access=view][&lifetime=<seconds>]``.

        ``access=administer`` (the default) may change the calendar's settings; ``access=view``
        may only see its alerts, like the front desk.
        """
        if _path(environ) != "/token":
            return self._answer(start_response, "404 Not Found", "text/plain", b"no such route\n")
        query = parse_qs(str(environ.get("QUERY_STRING") or ""))
        calendar = (query.get("calendar") or [""])[0].strip()
        if not calendar:
            return self._problem(start_response, "calendar", "calendar: name the calendar, ?calendar=<id>")
        try:
            lifetime = int((query.get("lifetime") or [str(MAX_TOKEN_SECONDS)])[0])
        except ValueError:
            lifetime = -1
        if not MIN_TOKEN_SECONDS <= lifetime <= MAX_TOKEN_SECONDS:
            return self._problem(
                start_response,
                "lifetime",
                f"lifetime: seconds from {MIN_TOKEN_SECONDS} to {MAX_TOKEN_SECONDS}",
            )
        access = (query.get("access") or ["administer"])[0]
        if access not in ACCESS_LEVELS:
            return self._problem(start_response, "access", "access: administer or view")
        token = self._issuer.issue_token(
            [calendar] if access == "administer" else [],
            view_calendars=[calendar] if access == "view" else [],
            lifetime_seconds=lifetime,
        )
        claims = self._issuer.verify(token)
        body = {"token": token, "expires_at": claims["exp"], "development_only": True}
        return self._answer(start_response, "200 OK", "application/json", json.dumps(body).encode())

    def _asset(self, path: str) -> Path | None:
        relative = unquote(path).lstrip("/")
        if not relative:
            return None
        candidate = (self._root / relative).resolve()
        # Only files under web/ with a type a page loads; no directory listings, no "..".
        if not candidate.is_relative_to(self._root) or not candidate.is_file():
            return None
        return candidate if candidate.suffix in ASSET_TYPES else None

    def _problem(self, start_response: StartResponse, field: str, message: str) -> list[bytes]:
        body = {
            "code": "invalid_request",
            "message": message,
            "errors": [{"field": field, "message": message}],
        }
        return self._answer(start_response, "400 Bad Request", "application/json", json.dumps(body).encode())

    def _answer(
        self, start_response: StartResponse, status: str, content_type: str, body: bytes
    ) -> list[bytes]:
        start_response(
            status,
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                # A developer editing web/ sees the change on reload; tokens are never cached.
                ("Cache-Control", "no-store"),
                ("Content-Security-Policy", self._config.content_security_policy),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
            ],
        )
        return [body]


def _path(environ: dict[str, Any]) -> str:
    return str(environ.get("PATH_INFO") or "/")


def _method(environ: dict[str, Any]) -> str:
    return str(environ.get("REQUEST_METHOD") or "GET").upper()


def mount_pages(api: Mountable, *, settings_api_base: str, realtime_port: int | None) -> LocalPages:
    """What ``serve`` calls: the pages on its API port, pointed at its settings API and endpoint."""
    pages = LocalPages(local_pages_config(settings_api_base, realtime_port))
    pages.mount(api)
    return pages


def calendar_page_url(api_port: int, calendar_id: str) -> str:
    return f"http://127.0.0.1:{api_port}{CALENDAR_PREFIX}/{calendar_id}"
