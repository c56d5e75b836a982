"""GET /calendars/{calendar_id}/alerts and POST .../alerts/{alert_id}/read: the in-calendar feed,
newest first, in pages, optionally unread only; one alert marked read at a time."""

from __future__ import annotations

import base64
import json

import pytest

from practitioner_alerts.domain.settings import CalendarSettings
from tests.api.conftest import ApiClient, Stack

ALERTS = "/calendars/cal-a/alerts"


def alert_ids(n: int) -> list[str]:
    # feed_alert_id sorts by time of change: later changes sort later.
    return [f"2027090{1 + i // 10}T1{i % 10}0000Z-{i:012x}" for i in range(n)]


def test_alerts_come_newest_first(client: ApiClient, stack: Stack) -> None:
    ids = alert_ids(3)
    for alert_id in ids:
        stack.add_alert("cal-a", alert_id)
    stack.add_alert("cal-b", "20991231T000000Z-other")

    reply = client.get(ALERTS)

    assert reply.status == 200
    assert [a["alert_id"] for a in reply.body["alerts"]] == list(reversed(ids))
    assert reply.body["cursor"] is None
    first = reply.body["alerts"][0]
    assert first == {
        "alert_id": ids[-1],
        "kind": "booked",
        "appointment_id": f"apt-{ids[-1]}",
        "headline": f"Neuer Online-Termin {ids[-1]}",
        "starts_at": "2027-09-09T12:00:00+02:00",
        "previous_starts_at": None,
        "changed_at": "2027-09-01T18:30:00+02:00",
        "read": False,
    }


def test_pages_follow_the_cursor_to_the_end(client: ApiClient, stack: Stack) -> None:
    ids = alert_ids(25)
    for alert_id in ids:
        stack.add_alert("cal-a", alert_id)

    seen: list[str] = []
    cursor = None
    sizes: list[int] = []
    while True:
        target = f"{ALERTS}?limit=10" + (f"&cursor={cursor}" if cursor else "")
        reply = client.get(target)
        assert reply.status == 200
        seen += [a["alert_id"] for a in reply.body["alerts"]]
        sizes.append(len(reply.body["alerts"]))
        cursor = reply.body["cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    # A page short of the limit is the last: no "load more" that finds nothing.
    assert sizes == [10, 10, 5]


def test_the_default_page_is_twenty(client: ApiClient, stack: Stack) -> None:
    for alert_id in alert_ids(21):
        stack.add_alert("cal-a", alert_id)
    reply = client.get(ALERTS)
    assert len(reply.body["alerts"]) == 20 and reply.body["cursor"]


def test_unread_only_and_marking_read(client: ApiClient, stack: Stack) -> None:
    ids = alert_ids(4)
    for alert_id in ids:
        stack.add_alert("cal-a", alert_id)

    marked = client.post(f"{ALERTS}/{ids[1]}/read")
    assert (marked.status, marked.body) == (200, {"alert_id": ids[1], "read": True})

    unread = client.get(f"{ALERTS}?unread=true")
    assert [a["alert_id"] for a in unread.body["alerts"]] == [ids[3], ids[2], ids[0]]
    everything = client.get(f"{ALERTS}?unread=false")
    assert [a["read"] for a in everything.body["alerts"]] == [False, False, True, False]


def test_unread_pages_skip_read_alerts_and_still_fill(client: ApiClient, stack: Stack) -> None:
    ids = alert_ids(12)
    for alert_id in ids:
        stack.add_alert("cal-a", alert_id)
    for alert_id in ids[6:]:
        client.post(f"{ALERTS}/{alert_id}/read")
    reply = client.get(f"{ALERTS}?unread=true&limit=4")
    assert [a["alert_id"] for a in reply.body["alerts"]] == list(reversed(ids[2:6]))


def test_marking_read_twice_is_harmless(client: ApiClient, stack: Stack) -> None:
    stack.add_alert("cal-a", alert_ids(1)[0])
    for _ in range(2):
        assert client.post(f"{ALERTS}/{alert_ids(1)[0]}/read").status == 200


def test_marking_an_unknown_alert_is_404_and_creates_nothing(client: ApiClient, stack: Stack) -> None:
    reply = client.post(f"{ALERTS}/20270901T000000Z-nope/read")
    assert reply.status == 404 and reply.body["code"] == "no_such_alert"
    assert stack.feed_items() == []


def test_another_calendars_alert_id_is_404_in_ones_own_calendar(client: ApiClient, stack: Stack) -> None:
    stack.add_alert("cal-b", "20270901T163000Z-theirs")
    assert client.post(f"{ALERTS}/20270901T163000Z-theirs/read").status == 404
    [item] = stack.feed_items()
    assert item["read"] == {"BOOL": False}


def _cursor(key: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "e30=",  # {}
        _cursor({"calendar_id": {"S": "cal-b"}, "alert_id": {"S": "x"}}),
        _cursor({"calendar_id": {"S": "cal-a"}, "alert_id": {"N": "1"}}),
        _cursor({"calendar_id": {"S": "cal-a"}, "alert_id": {"S": "x"}, "extra": {"S": "y"}}),
    ],
)
def test_a_bad_cursor_is_400(client: ApiClient, stack: Stack, cursor: str) -> None:
    reply = client.get(f"{ALERTS}?cursor={cursor}")
    assert reply.status == 400
    assert reply.body["code"] == "invalid_cursor"
    assert reply.body["errors"][0]["field"] == "cursor"


def test_another_calendars_cursor_is_refused(issuer: object, stack: Stack) -> None:
    client = ApiClient(issuer, calendars=("cal-a", "cal-b"))  # type: ignore[arg-type]
    for alert_id in alert_ids(3):
        stack.add_alert("cal-b", alert_id)
    cursor = client.get("/calendars/cal-b/alerts?limit=1").body["cursor"]
    assert cursor
    assert client.get(f"{ALERTS}?cursor={cursor}").status == 400


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=ten", "unread=maybe"])
def test_out_of_range_parameters_are_422_naming_them(client: ApiClient, query: str) -> None:
    reply = client.get(f"{ALERTS}?{query}")
    assert reply.status == 422
    name = query.split("=", maxsplit=1)[0]
    assert [e["field"] for e in reply.body["errors"]] == [name]
    assert reply.body["errors"][0]["message"].startswith(f"{name}: ")


def test_the_feed_names_the_calendars_language_zone_and_channel(client: ApiClient, stack: Stack) -> None:
    # A page that may only see the calendar learns from this one call how to speak and listen.
    stack.settings.put(CalendarSettings(calendar_id="cal-a", locale="fr", time_zone="Europe/Paris"))

    reply = client.get(ALERTS)

    assert reply.status == 200
    assert (reply.body["locale"], reply.body["time_zone"]) == ("fr", "Europe/Paris")
    assert reply.body["channel"] == "/alerts/cal-a"


def test_a_calendar_without_settings_shows_the_defaults_in_its_feed(client: ApiClient) -> None:
    reply = client.get(ALERTS)
    assert (reply.body["locale"], reply.body["time_zone"], reply.body["channel"]) == (
        "de",
        "Europe/Berlin",
        "/alerts/cal-a",
    )
