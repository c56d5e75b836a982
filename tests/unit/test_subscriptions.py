"""The OnSubscribe handler, called with the events AppSync sends: a token's holder may listen
to the channels of the calendars it administers or sees, and to nothing else."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from functions.realtime_subscribe import app

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events/realtime-subscribe.json").read_text())


@dataclass
class Context:
    function_name: str = "RealtimeSubscribeFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:RealtimeSubscribeFunction"
    memory_limit_in_mb: int = 128
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 5_000


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CALENDARS_CLAIM", "calendars")
    monkeypatch.setenv("VIEW_CALENDARS_CLAIM", "calendars_view")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    app.subscriptions.cache_clear()
    yield
    app.subscriptions.cache_clear()


def subscribe(channel: str, claims: dict[str, Any] | None = None, identity: Any = "token") -> Any:
    event = copy.deepcopy(EVENT)
    event["info"]["channel"] = {"path": channel, "segments": channel.strip("/").split("/")}
    if identity != "token":
        event["identity"] = identity
    elif claims is not None:
        event["identity"]["claims"] = claims
    return app.handler(event, Context())  # type: ignore[arg-type]


def refused(response: Any) -> bool:
    return isinstance(response, dict) and "SubscriptionRefused" in str(response.get("error"))


def test_the_sample_event_subscribes_to_its_own_calendar() -> None:
    assert app.handler(copy.deepcopy(EVENT), Context()) is None  # type: ignore[arg-type]


def test_a_calendar_one_only_sees_may_be_subscribed_to() -> None:
    assert subscribe("/alerts/cal-dr-rossi") is None


def test_another_calendars_channel_is_refused() -> None:
    assert refused(subscribe("/alerts/cal-dr-hughes"))


@pytest.mark.parametrize("channel", ["/alerts/*", "/alerts/cal-dr-weber/*", "/alerts/cal-dr-weber/x"])
def test_wildcards_and_sub_channels_are_refused(channel: str) -> None:
    assert refused(subscribe(channel))


def test_the_claims_as_api_gateway_would_flatten_them_still_work() -> None:
    assert subscribe("/alerts/cal-dr-weber", {"sub": "u", "calendars": "[cal-dr-weber]"}) is None


def test_an_item_with_a_space_inside_grants_neither_name() -> None:
    claims = {"sub": "u", "calendars": ["cal-attacker cal-dr-weber"]}
    assert refused(subscribe("/alerts/cal-dr-weber", claims))


def test_a_calendar_with_an_unusual_id_is_reached_through_its_hashed_channel() -> None:
    from practitioner_alerts.realtime import channel_for  # noqa: PLC0415

    claims = {"sub": "u", "calendars_view": ["praxis.mueller/raum-2"]}
    assert subscribe(channel_for("praxis.mueller/raum-2"), claims) is None
    assert refused(subscribe("/alerts/praxis", claims))


@pytest.mark.parametrize(
    "identity", [None, {"accountId": "123456789012", "userArn": "arn:aws:iam::1:role/x"}]
)
def test_a_caller_without_token_claims_is_refused(identity: Any) -> None:
    assert refused(subscribe("/alerts/cal-dr-weber", identity=identity))


def test_the_decision_is_logged_without_claims(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO"):
        subscribe("/alerts/cal-dr-hughes")
    (decision,) = [vars(r) for r in caplog.records if r.getMessage() == "subscribe"]
    assert (decision["channel"], decision["outcome"], decision["subject"]) == (
        "/alerts/cal-dr-hughes",
        "refused",
        "practitioner-7f3c",
    )
    # The token's other calendars stay out of the log.
    assert "cal-dr-rossi" not in json.dumps([vars(r) for r in caplog.records], default=str)
