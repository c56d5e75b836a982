"""The local stand-ins: the JWT issuer (the user pool) and API Gateway on loopback."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import requests

from practitioner_alerts_local.api import (
    AUDIENCE,
    ISSUER,
    InvalidToken,
    LocalSettingsApi,
    LocalTokenIssuer,
    invoke_in_process,
    main_token,
    start_api_server,
    to_event,
)
from practitioner_alerts_local.api.gateway import claim_strings, match_route
from tests.api.conftest import Stack, invoke_handler


# ------------------------------------------------------------------------------------------------
# Tokens
# ------------------------------------------------------------------------------------------------
def test_tokens_carry_issuer_audience_and_calendars(tmp_path: Path) -> None:
    issuer = LocalTokenIssuer(state_dir=tmp_path)
    claims = issuer.verify(issuer.issue_token(["cal-a", "cal-b"]))
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["calendars"] == ["cal-a", "cal-b"]
    assert claims["exp"] > claims["iat"]


def test_the_key_is_made_once_per_checkout_and_kept_private(tmp_path: Path) -> None:
    token = LocalTokenIssuer(state_dir=tmp_path).issue_token(["cal-a"])
    [key_file] = tmp_path.iterdir()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Another process (a fresh issuer) accepts the token: same key from .local-state.
    assert LocalTokenIssuer(state_dir=tmp_path).verify(token)["calendars"] == ["cal-a"]


def test_tokens_from_another_checkout_are_refused(tmp_path: Path) -> None:
    ours = LocalTokenIssuer(state_dir=tmp_path / "ours")
    theirs = LocalTokenIssuer(state_dir=tmp_path / "theirs")
    with pytest.raises(InvalidToken):
        ours.verify(theirs.issue_token(["cal-a"]))


def test_main_token_prints_a_token_for_the_listed_calendars(tmp_path: Path) -> None:
    issuer = LocalTokenIssuer(state_dir=tmp_path)
    token = main_token(["--calendars", "cal-a, cal-b"], issuer=issuer)
    assert issuer.verify(token)["calendars"] == ["cal-a", "cal-b"]
    with pytest.raises(SystemExit):
        main_token(["--calendars", " , "], issuer=issuer)


# ------------------------------------------------------------------------------------------------
# Events as API Gateway builds them
# ------------------------------------------------------------------------------------------------
def test_routes_match_like_api_gateway() -> None:
    assert match_route("GET", "/calendars/cal-a/alerts") == (
        "GET /calendars/{calendar_id}/alerts",
        {"calendar_id": "cal-a"},
    )
    assert match_route("POST", "/calendars/cal%20a/alerts/x/read") == (
        "POST /calendars/{calendar_id}/alerts/{alert_id}/read",
        {"calendar_id": "cal a", "alert_id": "x"},
    )
    assert match_route("DELETE", "/calendars/cal-a/alerts") is None
    assert match_route("GET", "/calendars/cal-a/b/alerts") is None


def test_claims_become_strings_and_arrays_the_bracketed_form() -> None:
    assert claim_strings({"calendars": ["cal-a", "cal-b"], "exp": 1820000000, "email_verified": True}) == {
        "calendars": "[cal-a cal-b]",
        "exp": "1820000000",
        "email_verified": "true",
    }


def test_a_request_becomes_a_payload_v2_event() -> None:
    event = to_event(
        "get",
        "/calendars/cal-a/alerts",
        "unread=true&limit=5&tag=a&tag=b",
        [
            ("Host", "127.0.0.1:8080"),
            ("X-Forwarded-For", "a"),
            ("X-Forwarded-For", "b"),
            ("Cookie", "a=1; b=2"),
        ],
        b"",
        route_key="GET /calendars/{calendar_id}/alerts",
        path_parameters={"calendar_id": "cal-a"},
        claims={"sub": "u-1", "calendars": ["cal-a"]},
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /calendars/{calendar_id}/alerts"
    assert event["rawPath"] == "/calendars/cal-a/alerts"
    assert event["rawQueryString"] == "unread=true&limit=5&tag=a&tag=b"
    assert event["queryStringParameters"] == {"unread": "true", "limit": "5", "tag": "a,b"}
    assert event["pathParameters"] == {"calendar_id": "cal-a"}
    assert event["headers"] == {"host": "127.0.0.1:8080", "x-forwarded-for": "a,b"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {"sub": "u-1", "calendars": "[cal-a]"}
    assert "body" not in event and event["isBase64Encoded"] is False


def test_binary_bodies_are_base64_encoded() -> None:
    event = to_event("PUT", "/x", "", [], b"\xff\xfe", route_key="PUT /x", path_parameters={}, claims=None)
    assert (event["body"], event["isBase64Encoded"]) == ("//4=", True)
    assert "authorizer" not in event["requestContext"]


def test_unknown_routes_get_api_gateways_404_without_invoking(tmp_path: Path) -> None:
    invoked: list[Any] = []
    api = LocalSettingsApi(issuer=LocalTokenIssuer(state_dir=tmp_path), invoke=invoked.append)
    response = api.handle_http("GET", "/nowhere", [])
    assert (response.status, json.loads(response.body)) == (404, {"message": "Not Found"})
    assert invoked == []


def test_a_failing_function_is_api_gateways_500(tmp_path: Path) -> None:
    class Failed:
        def invoke(self, event: dict[str, Any]) -> Any:
            return type("Invocation", (), {"error": RuntimeError("boom"), "response": None})()

    api = LocalSettingsApi(issuer=LocalTokenIssuer(state_dir=tmp_path), invoke=invoke_in_process(Failed()))
    response = api.handle_http("GET", "/openapi.json", [])
    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})


# ------------------------------------------------------------------------------------------------
# The HTTP server
# ------------------------------------------------------------------------------------------------
def test_the_server_serves_the_api_over_http_on_loopback(stack: Stack, issuer: LocalTokenIssuer) -> None:
    server = start_api_server(issuer=issuer, invoke=invoke_handler)
    try:
        token = issuer.issue_token(["cal-a"])
        auth = {"Authorization": f"Bearer {token}"}
        saved = requests.put(
            f"{server.url}/calendars/cal-a/alert-settings",
            json={"alert_email": "praxis@müller-beispiel.de"},
            headers=auth,
            timeout=5,
        )
        assert saved.status_code == 200 and saved.json()["alert_email"] == "praxis@müller-beispiel.de"
        assert requests.get(f"{server.url}/calendars/cal-a/alert-settings", timeout=5).status_code == 401
        assert requests.get(f"{server.url}/openapi.json", timeout=5).status_code == 200
        listed = requests.get(
            f"{server.url}/calendars/cal-a/alerts?unread=true&limit=2", headers=auth, timeout=5
        )
        assert listed.json() == {
            "alerts": [],
            "cursor": None,
            "locale": "de",
            "time_zone": "Europe/Berlin",
            "channel": "/alerts/cal-a",
        }
    finally:
        server.shutdown()


def test_the_server_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_api_server(host="0.0.0.0")
