"""A booking through the whole local stack: stream -> detector -> FIFO queue -> sender -> feed,
then the feed read and marked read through the settings API, as the calendar's pop-up would."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.api import LocalSettingsApi, LocalTokenIssuer, invoke_in_process, make_api_app
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.serve import LocalApi
from tests.api.conftest import EVENTS

CALENDAR = "cal-dr-weber"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.embedded(lambda_logs=io.StringIO()) as running:
        yield running


def call(api: LocalSettingsApi, method: str, target: str, token: str) -> tuple[int, Any]:
    response = api.handle_http(method, target, [("Authorization", f"Bearer {token}")])
    return response.status, json.loads(response.body)


def test_an_online_booking_shows_in_the_feed_and_can_be_marked_read(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    runtime.put_calendars(
        [
            CalendarSettings(
                calendar_id=CALENDAR,
                practitioner_name="Dr. Anna Weber",
                alert_email="praxis.weber@example.com",
                alert_mobile="+49 151 23456789",
            )
        ]
    )
    runtime.replay(json.loads((EVENTS / "stream-online-booking.json").read_text(encoding="utf-8")))
    runtime.drain()

    # The settings API as `serve` mounts it: the template's function, in process, behind the gateway.
    issuer = LocalTokenIssuer(state_dir=tmp_path)
    api = LocalSettingsApi(issuer=issuer, invoke=invoke_in_process(runtime.function("SettingsApiFunction")))
    token = issuer.issue_token([CALENDAR])

    status, page = call(api, "GET", f"/calendars/{CALENDAR}/alerts?unread=true", token)
    assert status == 200
    [alert] = page["alerts"]
    assert (alert["kind"], alert["appointment_id"], alert["read"]) == ("booked", "apt-1001", False)
    assert alert["starts_at"] == "2027-09-09T12:00:00+02:00"
    assert "Müller" in alert["headline"]

    status, marked = call(api, "POST", f"/calendars/{CALENDAR}/alerts/{alert['alert_id']}/read", token)
    assert (status, marked) == (200, {"alert_id": alert["alert_id"], "read": True})

    assert call(api, "GET", f"/calendars/{CALENDAR}/alerts?unread=true", token)[1]["alerts"] == []
    [again] = call(api, "GET", f"/calendars/{CALENDAR}/alerts", token)[1]["alerts"]
    assert again["read"] is True

    # Someone else's token sees nothing of it.
    stranger = issuer.issue_token(["cal-other"])
    assert call(api, "GET", f"/calendars/{CALENDAR}/alerts", stranger)[0] == 403


def test_a_test_send_goes_through_the_normal_pipeline(runtime: LocalRuntime, tmp_path: Path) -> None:
    issuer = LocalTokenIssuer(state_dir=tmp_path)
    api = LocalSettingsApi(issuer=issuer, invoke=invoke_in_process(runtime.function("SettingsApiFunction")))
    token = issuer.issue_token([CALENDAR])
    body = json.dumps({"alert_email": "praxis.weber@example.com", "alert_mobile": "0151 23456789"}).encode()
    saved = api.handle_http(
        "PUT",
        f"/calendars/{CALENDAR}/alert-settings",
        [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")],
        body,
    )
    assert saved.status == 200
    # The new contacts get their codes through the same pipeline; confirmed, they get the test.
    runtime.drain()
    codes = [(m.channel, m.text) for m in runtime.report().sent]
    assert sorted(channel for channel, _ in codes) == ["email", "sms"]
    for channel, text in codes:
        code = re.search(r"\b(\d{6})\b", text)
        assert code is not None, text
        confirmed = api.handle_http(
            "POST",
            f"/calendars/{CALENDAR}/alert-settings/verification/confirm",
            [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")],
            json.dumps({"channel": channel, "code": code.group(1)}).encode(),
        )
        assert confirmed.status == 200, confirmed.body

    status, queued = call(api, "POST", f"/calendars/{CALENDAR}/alert-settings/test", token)
    assert status == 202 and queued["channels"] == ["sms", "email"]
    runtime.drain()

    report = runtime.report()
    assert report.dead_letters == []
    tests = [message.channel for message in report.sent[len(codes) :]]
    assert sorted(tests) == ["email", "sms"]


def test_serve_mounts_the_settings_api_on_its_api_port(runtime: LocalRuntime, tmp_path: Path) -> None:
    # Exactly the mount docs/settings-api.md gives for `serve`.
    issuer = LocalTokenIssuer(state_dir=tmp_path)
    port = LocalApi(runtime)
    port.register_api(
        "/settings-api", make_api_app(issuer, invoke_in_process(runtime.function("SettingsApiFunction")))
    )

    def get(path: str, token: str | None) -> tuple[str, Any]:
        environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": ""}
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        setup_testing_defaults(environ)
        status: list[str] = []
        body = b"".join(port(environ, lambda s, _h: status.append(s)))
        return status[0], json.loads(body)

    token = issuer.issue_token([CALENDAR])
    assert get(f"/settings-api/calendars/{CALENDAR}/alert-settings", token)[0] == "200 OK"
    assert get(f"/settings-api/calendars/{CALENDAR}/alert-settings", None)[0] == "401 Unauthorized"
    assert get("/settings-api/openapi.json", None)[1]["openapi"].startswith("3.1")
