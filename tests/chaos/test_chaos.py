"""Chaos: appointment changes through the local pipeline while its AWS calls fail.

The expectation comes from the generator's own intent labels, never from the rule or the
detector; attribution comes from what SNS, SES and the feed accepted, never from the logs.
"""

from __future__ import annotations

import re

import pytest

from practitioner_alerts_local import chaos

LAST_LINE = re.compile(
    r"^chaos: expected=\d+ delivered=\d+ duplicates=\d+ in_window=\d+ superseded=\d+ lost=\d+ "
    r"dead_letters=\d+ unexplained=\d+$"
)
EVERY_KIND_OF_CALL = {
    "queue send",
    "settings read",
    "idempotency",
    "feed write",
    "delivery log",
    "sns publish",
    "ses send",
    "dlq parking",
    "sender back-off",
    "sender early delete",
}


PROVIDERS = ("sns publish", "ses send")


def test_every_expected_alert_arrives_exactly_once_under_faults(as_shipped: chaos.ChaosResult) -> None:
    # Before the stream's retries were bounded by record age rather than by a count of 5, this
    # lost alerts: Lambda retries at once, and five throttles in a row gave a batch up.
    result = as_shipped
    assert result.ok, result.last_line()
    assert (result.delivered, result.duplicates, result.lost, result.unexplained) == (
        result.expected,
        0,
        0,
        0,
    )
    assert result.expected > 300  # sms, e-mail and the feed for most alerting writes
    # The malformed writes are parked with their reason (some twice: parking is at least once).
    assert result.dead_letters.parked_as_expected >= 1
    assert result.dead_letters.parked_as_expected == result.dead_letters.total
    assert result.dead_letters.malformed_not_parked == 0


def test_faults_were_injected_in_every_class_on_every_kind_of_call(as_shipped: chaos.ChaosResult) -> None:
    faults = as_shipped.faults
    for fault in chaos.Fault:
        if fault is not chaos.Fault.OUTAGE:  # off here, see test_fault_classes.py
            assert sum(n for (_, f), n in faults.items() if f is fault) > 0, fault
    assert set(as_shipped.calls) >= EVERY_KIND_OF_CALL
    # At 10 %, a kind of call made 50 times or more goes unfaulted with odds below 1 in 190; rarer
    # ones (parking the few malformed writes) may by chance draw no fault in a small run.
    frequent = {call for call, count in as_shipped.calls.items() if count >= 50}
    faulted_calls = {call for (call, _), n in faults.items() if n}
    assert frequent and frequent <= faulted_calls


def test_the_window_is_injected_on_both_providers(as_shipped: chaos.ChaosResult) -> None:
    # A lost response, and a crash right after acceptance, on SNS and on SES alike.
    faults = as_shipped.faults
    for provider in PROVIDERS:
        assert faults[(provider, chaos.Fault.READ_TIMEOUT)] > 0, provider
        assert faults[(provider, chaos.Fault.KILL_IN_WINDOW)] > 0, provider


def test_the_command_prints_its_seed_first_and_the_verdict_last(capsys: pytest.CaptureFixture[str]) -> None:
    code = chaos.main(
        ["--changes", "40", "--calendars", "5", "--seed", "7", "--fault-rate", "0", "--outage-minutes", "0"]
    )

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("chaos: seed=7 ")
    assert any("in_window" in line for line in lines[:3])
    assert LAST_LINE.match(lines[-1]), lines[-1]
    assert lines[-2].startswith("wall time: ")
    assert code == 0


def test_a_detector_with_a_one_hour_window_breaks_the_invariant() -> None:
    # Late cancellations and reschedules 1-24 h ahead go silent; the expectation, built from the
    # generator's labels alone, must notice.
    broken = chaos.run(
        changes=150,
        calendars=10,
        seed=3,
        fault_rate=0,
        outage_minutes=0,
        parameter_overrides={"ShortNoticeWindowHours": "1"},
    )

    assert not broken.ok
    assert broken.lost > 0 and broken.duplicates == 0


def test_several_seeds_are_run_one_after_another_and_the_last_line_adds_them_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = chaos.main(
        [
            *("--changes", "30", "--calendars", "4", "--seed", "7", "--seeds", "2"),
            *("--fault-rate", "0", "--outage-minutes", "0"),
        ]
    )

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("chaos: seed=7..8 ")
    per_seed = [line for line in lines if line.startswith("seed ")]
    assert [line.split(":")[0] for line in per_seed] == ["seed 7", "seed 8"]
    expected = sum(int(re.search(r"expected=(\d+)", line).group(1)) for line in per_seed)  # type: ignore[union-attr]
    assert LAST_LINE.match(lines[-1]) and f"expected={expected} " in lines[-1]
    assert code == 0
