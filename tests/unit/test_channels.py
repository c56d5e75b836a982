"""Each calendar's alerts travel on one channel, which only those who see the calendar may hear."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from practitioner_alerts.access import Caller
from practitioner_alerts.realtime import channel_for, may_subscribe

# AppSync Events: a channel segment is letters, digits and hyphens, at most 50 characters.
SEGMENT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?")


def test_a_calendar_id_that_fits_is_its_own_segment() -> None:
    assert channel_for("cal-dr-weber") == "/alerts/cal-dr-weber"


def test_an_id_appsync_would_refuse_becomes_a_stable_hash() -> None:
    channel = channel_for("Praxis Müller/Raum 2")
    assert re.fullmatch(r"/alerts/h-[0-9a-f]{40}", channel)
    assert channel_for("Praxis Müller/Raum 2") == channel


def test_an_id_that_looks_like_a_hash_cannot_take_over_another_calendars_channel() -> None:
    victim = channel_for("cal with spaces")
    impostor = victim.removeprefix("/alerts/")
    assert channel_for(impostor) != victim


@given(st.text(min_size=1, max_size=120))
def test_every_id_gets_a_valid_channel_and_different_ids_different_channels(calendar_id: str) -> None:
    namespace, _, segment = channel_for(calendar_id).removeprefix("/").partition("/")
    assert namespace == "alerts"
    assert SEGMENT.fullmatch(segment)
    assert channel_for(calendar_id + "x") != channel_for(calendar_id)


def test_only_the_exact_channel_of_a_calendar_one_sees() -> None:
    desk = Caller(subject="desk", administered=frozenset(), viewed=frozenset({"cal-dr-weber"}))
    assert may_subscribe(desk, "/alerts/cal-dr-weber")
    for channel in ("/alerts/*", "/alerts/cal-dr-weber/*", "/alerts/cal-dr-weber-2", "/alerts", "/*"):
        assert not may_subscribe(desk, channel), channel
    assert not may_subscribe(None, "/alerts/cal-dr-weber")
