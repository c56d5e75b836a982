"""The detector's settings cache in a warm environment that sees a national population."""

from __future__ import annotations

from collections.abc import Iterable

from practitioner_alerts.adapters.dynamodb import CachedCalendarSettings
from practitioner_alerts.domain.settings import CalendarSettings


class CountingTable:
    def __init__(self) -> None:
        self.keys_read = 0

    def get_many(self, calendar_ids: Iterable[str]) -> dict[str, CalendarSettings]:
        wanted = list(calendar_ids)
        self.keys_read += len(wanted)
        return {cid: CalendarSettings(calendar_id=cid, alert_email=f"{cid}@example.com") for cid in wanted}


def test_without_a_time_to_live_nothing_is_kept_between_batches() -> None:
    # As deployed (SETTINGS_CACHE_SECONDS 0): every batch reads its calendars, and a warm
    # environment that has seen 5,000 calendars holds none of them afterwards.
    table = CountingTable()
    cache = CachedCalendarSettings(table, ttl_seconds=0, clock=lambda: 100.0)  # type: ignore[arg-type]

    for batch in range(50):
        found = cache.get_many(f"cal-{batch}-{n}" for n in range(100))
        assert len(found) == 100

    assert len(cache) == 0
    assert table.keys_read == 5000


def test_only_a_time_to_live_of_calendars_is_held() -> None:
    table = CountingTable()
    now = [0.0]
    cache = CachedCalendarSettings(table, ttl_seconds=60, clock=lambda: now[0])  # type: ignore[arg-type]

    cache.get_many(f"old-{n}" for n in range(300))
    now[0] = 30.0
    cache.get_many(["old-0", "mid-0"])  # old-0 still fresh: no read
    now[0] = 61.0
    found = cache.get_many(f"new-{n}" for n in range(200))

    assert set(found) == {f"new-{n}" for n in range(200)}
    # The 300 read at 0 s expired at 60 s and are gone; mid-0 (read at 30 s) and the new ones stay.
    assert len(cache) == 201
    assert table.keys_read == 300 + 1 + 200
    now[0] = 62.0
    cache.get_many(["mid-0", "old-5"])
    assert table.keys_read == 300 + 1 + 200 + 1  # mid-0 still cached; old-5 read again
