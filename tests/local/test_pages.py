"""The pages' HTTP side on serve's API port: which paths answer what, and what never leaks."""

from __future__ import annotations

import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from practitioner_alerts_local.api import LocalTokenIssuer
from practitioner_alerts_local.pages import LocalPages, local_pages_config


class Mounts:
    def __init__(self) -> None:
        self.apps: dict[str, Any] = {}

    def register_api(self, prefix: str, app: Any) -> None:
        self.apps[prefix] = app


@pytest.fixture
def pages(tmp_path: Any) -> Mounts:
    mounts = Mounts()
    LocalPages(local_pages_config("/settings-api", 8086), LocalTokenIssuer(state_dir=tmp_path)).mount(mounts)
    return mounts


def get(mounts: Mounts, prefix: str, path: str, query: str = "") -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured.update(status=status, headers=dict(headers))

    body = b"".join(mounts.apps[prefix](environ, start_response))
    return captured["status"], captured["headers"], body


def test_a_calendar_and_its_settings_answer_their_pages(pages: Mounts) -> None:
    status, headers, body = get(pages, "/calendar", "/cal-dr-weber")
    assert status == "200 OK" and b"calendar-page.js" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "ws://127.0.0.1:8086/event/realtime" in headers["Content-Security-Policy"]
    status, _, body = get(pages, "/calendar", "/cal-dr-weber/settings")
    assert status == "200 OK" and b"settings-page.js" in body
    assert get(pages, "/calendar", "/")[0] == "404 Not Found"
    assert get(pages, "/calendar", "/cal-dr-weber/elsewhere")[0] == "404 Not Found"


def test_assets_come_from_web_only(pages: Mounts) -> None:
    status, headers, _ = get(pages, "/web", "/alerts-client.js")
    assert status == "200 OK" and headers["Content-Type"].startswith("text/javascript")
    assert json.loads(get(pages, "/web", "/i18n/fr.json")[2])["calendar.title"] == "Alertes"
    for outside in ("/../pyproject.toml", "/%2e%2e/pyproject.toml", "/i18n/../../Makefile", "/", "/i18n"):
        assert get(pages, "/web", outside)[0] == "404 Not Found", outside


def test_config_names_this_stacks_settings_api_realtime_endpoint_and_token_source(pages: Mounts) -> None:
    config = json.loads(get(pages, "/web", "/config.json")[2])
    assert config == {
        "settingsApiBase": "/settings-api",
        "realtimeUrl": "ws://127.0.0.1:8086/event/realtime",
        "realtimeHost": "127.0.0.1:8086",
        "tokenUrl": "/local/token?calendar={calendar_id}",
        "developmentOnly": True,
    }


def test_the_development_token_administers_the_calendar_asked_for(pages: Mounts, tmp_path: Any) -> None:
    status, headers, body = get(pages, "/local", "/token", "calendar=cal-dr-weber&lifetime=60")
    assert status == "200 OK" and headers["Cache-Control"] == "no-store"
    answer = json.loads(body)
    claims = LocalTokenIssuer(state_dir=tmp_path).verify(answer["token"])
    assert claims["calendars"] == ["cal-dr-weber"]
    assert answer["expires_at"] == claims["exp"] == claims["iat"] + 60
    viewer = json.loads(get(pages, "/local", "/token", "calendar=cal-dr-weber&access=view")[2])["token"]
    viewer_claims = LocalTokenIssuer(state_dir=tmp_path).verify(viewer)
    assert viewer_claims["calendars"] == [] and viewer_claims["calendars_view"] == ["cal-dr-weber"]
    assert get(pages, "/local", "/token", "calendar=x&access=owner")[0] == "400 Bad Request"
    assert get(pages, "/local", "/token", "")[0] == "400 Bad Request"
    assert get(pages, "/local", "/token", "calendar=x&lifetime=99999999")[0] == "400 Bad Request"
    assert get(pages, "/local", "/elsewhere", "calendar=x")[0] == "404 Not Found"
