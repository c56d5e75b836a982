"""Who may do what: the calendars claim (administer) and the calendars_view claim (see only)
decide, in every form API Gateway may hand them over; other calendars get 403 with nothing read
or written; no claims get 401; logs carry no contacts."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.settings_api import app
from practitioner_alerts.access import calendars_in_claim
from practitioner_alerts.adapters.dynamodb import FeedPage
from practitioner_alerts.domain.appointments import is_calendar_id
from practitioner_alerts.domain.notifications import Notification
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.settings_api import SettingsApi, SettingsService
from practitioner_alerts_local.api import LocalTokenIssuer, main_token, to_event
from practitioner_alerts_local.api.gateway import claim_strings, match_route
from tests.api.conftest import EVENTS, ApiClient, LambdaContextStub, LogRecords, Stack, invoke_handler

SETTINGS_ROUTES_ON_CAL_B = [
    ("GET", "/calendars/cal-b/alert-settings", None),
    ("PUT", "/calendars/cal-b/alert-settings", {"alert_email": "intruder@example.com"}),
    ("POST", "/calendars/cal-b/alert-settings/test", None),
]
FEED_ROUTES_ON_CAL_B = [
    ("GET", "/calendars/cal-b/alerts", None),
    ("GET", "/calendars/cal-b/alerts?unread=true&limit=5", None),
    ("POST", "/calendars/cal-b/alerts/20270901T163000Z-abc/read", None),
]
ROUTES_ON_CAL_B = SETTINGS_ROUTES_ON_CAL_B + FEED_ROUTES_ON_CAL_B
NOT_AN_ADMINISTRATOR = "You do not administer this calendar."
NOT_A_VIEWER = "You may not see this calendar's alerts."


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------
# The claim
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "claim",
    [
        ["cal-a", "cal-b"],  # AppSync: the token's JSON
        ("cal-a", "cal-b"),
        "[cal-a cal-b]",  # what the HTTP API JWT authorizer makes of an array claim
    ],
)
def test_the_calendars_claim_in_the_forms_the_services_produce(claim: Any) -> None:
    assert calendars_in_claim(claim) == {"cal-a", "cal-b"}


def test_a_string_claim_is_one_calendar() -> None:
    assert calendars_in_claim("cal-a") == {"cal-a"}


@pytest.mark.parametrize(
    "claim",
    [
        None,
        "",
        "[]",
        [],
        42,
        {"cal-a": True},
        "cal-a cal-b",  # no service writes a bare space-separated list
        "cal-a, cal-b",
        ["cal-a", 42],
        ["cal-a", ""],
        "[cal-a  cal-b]",  # two spaces: an empty item between them
    ],
)
def test_an_absent_or_odd_claim_grants_nothing(claim: Any) -> None:
    assert calendars_in_claim(claim) == frozenset()


def test_the_sample_event_with_a_bracketed_claim_reaches_its_calendar(stack: Stack) -> None:
    response = invoke_handler(load("api-get-settings.json"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["calendar_id"] == "cal-dr-weber"


def test_the_sample_put_event_saves_and_warns_about_hotmail(stack: Stack) -> None:
    response = invoke_handler(load("api-put-settings.json"))
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["alert_mobile"] == "+4915123456789"
    assert [w["code"] for w in body["warnings"]] == [
        "spam_prone_mailbox",
        "contact_not_verified",
        "contact_not_verified",
    ]
    assert stack.settings.get("cal-dr-weber") is not None


@pytest.mark.parametrize("claim", [["cal-dr-weber"], "cal-dr-weber", "[cal-dr-weber]"])
def test_a_real_list_and_a_plain_string_work_like_the_bracketed_form(stack: Stack, claim: Any) -> None:
    event = load("api-get-settings.json")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["calendars"] = claim
    assert invoke_handler(event)["statusCode"] == 200


def test_the_claim_name_comes_from_the_environment(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALENDARS_CLAIM", "custom:calendars")
    app.settings_api.cache_clear()
    event = load("api-get-settings.json")
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert invoke_handler(copy.deepcopy(event))["statusCode"] == 403
    claims["custom:calendars"] = claims.pop("calendars")
    assert invoke_handler(event)["statusCode"] == 200


# ------------------------------------------------------------------------------------------------
# 401: no claims
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("authorizer", [None, {}, {"jwt": {}}, {"jwt": {"claims": {}}}])
def test_without_claims_the_function_answers_401(stack: Stack, authorizer: Any) -> None:
    event = load("api-put-settings.json")
    if authorizer is None:
        del event["requestContext"]["authorizer"]
    else:
        event["requestContext"]["authorizer"] = authorizer
    response = invoke_handler(event)
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["code"] == "unauthorized"
    assert stack.settings_items() == []


@pytest.mark.parametrize("method,target,body", ROUTES_ON_CAL_B)
def test_the_local_gateway_answers_401_without_a_token(
    client: ApiClient, method: str, target: str, body: Any
) -> None:
    reply = client.request(method, target, body, token=None)
    assert (reply.status, reply.body) == (401, {"message": "Unauthorized"})


def test_the_local_gateway_refuses_expired_forged_and_foreign_tokens(
    client: ApiClient, tmp_path: Any
) -> None:
    expired = client.issuer.issue_token(["cal-a"], lifetime_seconds=60, now=1_000_000_000)
    other_key = LocalTokenIssuer(state_dir=tmp_path).issue_token(["cal-a"])
    other_audience = LocalTokenIssuer(state_dir=client.issuer.state_dir, audience="someone-else").issue_token(
        ["cal-a"]
    )
    for token in (expired, other_key, other_audience, "not-a-jwt"):
        assert client.get("/calendars/cal-a/alert-settings", token=token).status == 401


def test_a_claim_without_calendars_grants_no_calendar(stack: Stack) -> None:
    event = load("api-get-settings.json")
    del event["requestContext"]["authorizer"]["jwt"]["claims"]["calendars"]
    assert invoke_handler(event)["statusCode"] == 403


# ------------------------------------------------------------------------------------------------
# 403: another calendar, and nothing read or written
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method,target,body", ROUTES_ON_CAL_B)
def test_another_calendar_gets_403_and_nothing_changes(
    client: ApiClient, stack: Stack, method: str, target: str, body: Any
) -> None:
    stack.settings.put(CalendarSettings(calendar_id="cal-b", alert_email="owner@example.com"))
    stack.add_alert("cal-b", "20270901T163000Z-abc")
    settings_before, feed_before = stack.settings_items(), stack.feed_items()

    reply = client.request(method, target, body)

    assert reply.status == 403
    assert reply.body == {
        "code": "forbidden",
        "message": NOT_AN_ADMINISTRATOR if "alert-settings" in target else NOT_A_VIEWER,
        "errors": [],
    }
    assert "owner@example.com" not in json.dumps(reply.body)
    assert stack.settings_items() == settings_before
    assert stack.feed_items() == feed_before
    assert stack.queued() == []


class Recorder:
    """Every port the service has, recording any call; the forbidden path must make none."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def get(self, calendar_id: str) -> CalendarSettings | None:
        self.calls.append("settings.get")
        return None

    def put(self, settings: CalendarSettings) -> None:
        self.calls.append("settings.put")

    def take_test_send(self, calendar_id: str, window: str, limit: int) -> bool:
        self.calls.append("settings.take_test_send")
        return True

    def page(self, calendar_id: str, *, limit: int, cursor: str | None, unread_only: bool) -> FeedPage:
        self.calls.append("feed.page")
        return FeedPage([], None)

    def mark_read(self, calendar_id: str, alert_id: str) -> bool:
        self.calls.append("feed.mark_read")
        return True

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        self.calls.append("queue.enqueue")


@pytest.mark.parametrize("method,target,body", ROUTES_ON_CAL_B)
def test_another_calendar_touches_no_port_at_all(method: str, target: str, body: Any) -> None:
    recorder = Recorder()
    api = SettingsApi(SettingsService(recorder, recorder, recorder, test_alerts_per_hour=3), "calendars")
    path, _, query = target.partition("?")
    matched = match_route(method, path)
    assert matched is not None
    event = to_event(
        method,
        path,
        query,
        [("content-type", "application/json")],
        json.dumps(body).encode() if body is not None else b"",
        route_key=matched[0],
        path_parameters=matched[1],
        claims={"sub": "u-1", "calendars": ["cal-a"]},
    )
    assert api.handle(event, LambdaContextStub())["statusCode"] == 403  # type: ignore[arg-type]
    assert recorder.calls == []


def test_an_invalid_body_for_another_calendar_is_403_not_422(client: ApiClient) -> None:
    # Access is decided first: a stranger learns nothing, not even which fields are wrong.
    reply = client.put("/calendars/cal-b/alert-settings", {"alert_email": "a@@b"})
    assert reply.status == 403


# ------------------------------------------------------------------------------------------------
# Access log: route, calendar and outcome; never contacts
# ------------------------------------------------------------------------------------------------
def test_access_is_logged_without_contact_data(client: ApiClient, stack: Stack, logs: LogRecords) -> None:
    contacts = {
        "alert_email": "maria.mueller@hotmail.de",
        "alert_mobile": "0151 23456789",
        "practitioner_name": "Dr. Geheim Name",
    }
    client.put("/calendars/cal-a/alert-settings", contacts)
    codes = stack.codes()
    for (channel, _contact), code in codes.items():
        client.post(
            "/calendars/cal-a/alert-settings/verification/confirm", {"channel": channel, "code": code}
        )
    client.put("/calendars/cal-a/alert-settings", {**contacts, "alert_mobile": "030 1234567"})
    client.get("/calendars/cal-a/alert-settings")
    client.post("/calendars/cal-a/alert-settings/test")
    client.get("/calendars/cal-b/alert-settings")

    accesses = [(a["route"], a["calendar_id"], a["status"], a["outcome"]) for a in logs.accesses()]
    confirm = "POST /calendars/{calendar_id}/alert-settings/verification/confirm"
    assert accesses == [
        ("PUT /calendars/{calendar_id}/alert-settings", "cal-a", 200, "ok"),
        (confirm, "cal-a", 200, "ok"),
        (confirm, "cal-a", 200, "ok"),
        ("PUT /calendars/{calendar_id}/alert-settings", "cal-a", 422, "rejected"),
        ("GET /calendars/{calendar_id}/alert-settings", "cal-a", 200, "ok"),
        ("POST /calendars/{calendar_id}/alert-settings/test", "cal-a", 202, "ok"),
        ("GET /calendars/{calendar_id}/alert-settings", "cal-b", 403, "denied"),
    ]
    everything = "\n".join(logs.lines()).lower()
    for secret in ("maria", "mueller", "hotmail", "23456789", "1234567", "geheim", *codes.values()):
        assert secret not in everything, secret


# Calendar ids by the contract's rule: printable ASCII, no space, no "#", 1-128 characters.
CALENDAR_IDS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="#"),
    min_size=1,
    max_size=128,
)
NOT_IDS = st.one_of(
    st.text(min_size=1).filter(lambda text: not is_calendar_id(text)),
    st.text(alphabet="ab #", min_size=1).filter(lambda text: " " in text or "#" in text),
    st.just(""),
    st.text(alphabet="a", min_size=129, max_size=140),
    st.integers(),
    st.none(),
)


@given(st.lists(CALENDAR_IDS, min_size=1, max_size=5))
def test_a_list_and_its_flattened_form_grant_the_same_calendars(calendars: list[str]) -> None:
    expected = frozenset(calendars)
    assert calendars_in_claim(calendars) == expected
    # Exactly what API Gateway hands the function for an array claim.
    assert calendars_in_claim(claim_strings({"calendars": calendars})["calendars"]) == expected


@given(CALENDAR_IDS.filter(lambda text: not (text.startswith("[") and text.endswith("]"))))
def test_a_string_claim_grants_exactly_its_one_calendar(calendar: str) -> None:
    assert calendars_in_claim(calendar) == {calendar}
    assert calendars_in_claim(claim_strings({"calendars": calendar})["calendars"]) == {calendar}


@given(st.lists(CALENDAR_IDS, max_size=4), NOT_IDS, st.lists(CALENDAR_IDS, max_size=4))
def test_a_list_holding_anything_but_calendar_ids_grants_nothing(
    before: list[str], odd: object, after: list[str]
) -> None:
    assert calendars_in_claim([*before, odd, *after]) == frozenset()


@given(NOT_IDS.filter(lambda odd: isinstance(odd, str) and not (odd.startswith("[") and odd.endswith("]"))))
def test_a_string_claim_that_is_not_one_id_grants_nothing(odd: str) -> None:
    assert calendars_in_claim(odd) == frozenset()


def test_a_calendar_id_with_a_hash_is_refused_even_percent_encoded(
    issuer: LocalTokenIssuer, stack: Stack
) -> None:
    # "<id>#test-sends" keys the test-send counter; no calendar may be called like that, so no
    # claim can name one (it would grant nothing) and the path refuses it too.
    assert calendars_in_claim(["cal-a#test-sends"]) == frozenset()
    client = ApiClient(issuer, calendars=("cal-a",))
    reply = client.put("/calendars/cal-a%23test-sends/alert-settings", {"alert_email": "x@example.com"})
    assert reply.status == 403
    assert stack.settings_items() == []


@pytest.mark.parametrize("path_id", ["cal%20a", "x" * 129, "cal-%C3%BC"])
def test_a_path_id_outside_the_rule_is_refused(issuer: LocalTokenIssuer, stack: Stack, path_id: str) -> None:
    client = ApiClient(issuer, calendars=("cal-a",))
    assert client.get(f"/calendars/{path_id}/alert-settings").status == 403
    assert stack.settings_items() == []


# ------------------------------------------------------------------------------------------------
# Two levels: administer (settings, test sends) and see (the feed)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "claim",
    [
        ["cal-attacker cal-b"],
        '["cal-attacker cal-b"]',
        ["cal-attacker,cal-b"],
        '["cal-attacker,cal-b"]',
        ['cal-b"]'],
        ["[cal-b]"],
    ],
)
def test_an_item_with_a_separator_inside_grants_no_calendar(claim: Any) -> None:
    # One element of a JSON array is one name; a space or comma in it must not split it in two.
    assert "cal-b" not in calendars_in_claim(claim)


def test_a_viewer_reads_the_feed_and_marks_alerts_read(stack: Stack, issuer: LocalTokenIssuer) -> None:
    stack.add_alert("cal-b", "20270901T163000Z-abc")
    front_desk = ApiClient(issuer, calendars=())
    token = issuer.issue_token([], view_calendars=["cal-b"])

    page = front_desk.get("/calendars/cal-b/alerts", token=token)
    read = front_desk.post("/calendars/cal-b/alerts/20270901T163000Z-abc/read", token=token)

    assert page.status == 200
    assert [a["alert_id"] for a in page.body["alerts"]] == ["20270901T163000Z-abc"]
    assert read.status == 200
    assert stack.feed_items()[0]["read"] == {"BOOL": True}


@pytest.mark.parametrize("method,target,body", SETTINGS_ROUTES_ON_CAL_B)
def test_a_viewer_may_not_change_or_read_where_alerts_go(
    stack: Stack, issuer: LocalTokenIssuer, method: str, target: str, body: Any
) -> None:
    stack.settings.put(CalendarSettings(calendar_id="cal-b", alert_email="owner@example.com"))
    settings_before = stack.settings_items()
    token = issuer.issue_token([], view_calendars=["cal-b"])

    reply = ApiClient(issuer).request(method, target, body, token=token)

    assert (reply.status, reply.body["message"]) == (403, NOT_AN_ADMINISTRATOR)
    assert "owner@example.com" not in json.dumps(reply.body)
    assert stack.settings_items() == settings_before
    assert stack.queued() == []


def test_administering_a_calendar_implies_seeing_it(client: ApiClient, stack: Stack) -> None:
    stack.add_alert("cal-a", "20270901T163000Z-abc")
    assert client.get("/calendars/cal-a/alerts").status == 200


def test_the_view_claim_name_comes_from_the_environment(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIEW_CALENDARS_CLAIM", "custom:desk")
    app.settings_api.cache_clear()
    event = load("api-get-settings.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/calendars/cal-dr-weber/alerts"
    event["routeKey"] = "GET /calendars/{calendar_id}/alerts"
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    claims["calendars_view"] = claims.pop("calendars")
    assert invoke_handler(copy.deepcopy(event))["statusCode"] == 403
    claims["custom:desk"] = claims.pop("calendars_view")
    assert invoke_handler(event)["statusCode"] == 200


def test_the_token_command_issues_both_levels(issuer: LocalTokenIssuer) -> None:
    token = main_token(["--calendars", "cal-a", "--view-calendars", "cal-b, cal-c"], issuer=issuer)
    claims = issuer.verify(token)
    assert claims["calendars"] == ["cal-a"]
    assert claims["calendars_view"] == ["cal-b", "cal-c"]
    assert "calendars_view" not in issuer.verify(main_token(["--calendars", "cal-a"], issuer=issuer))
    viewer = issuer.verify(main_token(["--view-calendars", "cal-b"], issuer=issuer))
    assert (viewer["calendars"], viewer["calendars_view"]) == ([], ["cal-b"])
