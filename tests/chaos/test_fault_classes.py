"""The fault classes of issue 13: slow and hung calls, an SNS outage, crashes inside the
exactly-once window and poison records. Each test fails if its class is not injected or the
pipeline mishandles it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from practitioner_alerts_local import chaos


def _injected(result: chaos.ChaosResult, fault: chaos.Fault) -> int:
    return sum(n for (_, f), n in result.faults.items() if f is fault)


def test_hung_calls_time_invocations_out_in_emulated_time_and_nothing_is_lost(
    as_shipped: chaos.ChaosResult,
) -> None:
    result = as_shipped
    assert _injected(result, chaos.Fault.HUNG) > 0
    # Each hung call outlasts its invocation: a time-out, reached on the functions' clock.
    assert result.timeouts >= _injected(result, chaos.Fault.HUNG)
    assert result.ok, result.last_line()


def test_slow_calls_never_time_an_invocation_out(as_shipped: chaos.ChaosResult) -> None:
    # Within their SDK bound, slow calls are what the sender's and detector's time budgets are
    # for: they stop taking work in time, so no time-out comes from slow calls alone.
    assert _injected(as_shipped, chaos.Fault.SLOW) > 0
    assert as_shipped.slow_timeouts == 0


def test_a_crash_inside_the_window_may_send_that_alert_once_more_and_is_counted_as_such(
    as_shipped: chaos.ChaosResult,
) -> None:
    result = as_shipped
    assert _injected(result, chaos.Fault.KILL_IN_WINDOW) > 0
    assert result.in_window > 0  # the window is real: SNS/SES take no idempotency key
    assert result.duplicates == 0 and result.duplicate_units == []
    # Each second delivery has the trail of the invocations that sent it.
    assert all(result.duplicate_trails[unit] for unit in result.in_window_units)


class _Injector:
    """What _compare reads of a FaultInjector."""

    def __init__(self, in_window: Counter[chaos.WindowKey]) -> None:
        self.in_window = in_window
        self.faults: Counter[tuple[str, chaos.Fault]] = Counter()
        self.calls: Counter[str] = Counter()
        self.trail: dict[int, list[str]] = {}
        self.timeouts = self.slow_timeouts = 0


def _compared(sent: Sequence[chaos.Unit], in_window: Counter[chaos.WindowKey]) -> chaos.ChaosResult:
    plan = chaos.make_plan(40, 4, 3)
    found = chaos.Arrivals(units=Counter(sent))
    return chaos._compare(plan, found, chaos.DeadLetterCount(), _Injector(in_window), set(), 0, 0.0)  # type: ignore[arg-type]


def test_only_the_alert_whose_window_a_fault_hit_may_arrive_twice() -> None:
    plan = chaos.make_plan(40, 4, 3)
    expected = sorted(plan.expected())
    first, second = [unit for unit in expected if unit[3] in ("sms", "email")][:2]
    everything = [*expected, first, second]
    window = Counter({(first[0], first[1], first[3]): 1})

    result = _compared(everything, window)

    assert (result.in_window, result.duplicates) == (1, 1)
    assert result.duplicate_units == [second] and result.in_window_units == [first]
    assert not result.ok
    # A third delivery of the first is one more than its one fault allows.
    assert _compared([*everything, first], window).duplicates == 2


def test_sns_down_the_email_and_popup_go_out_and_the_sms_is_parked_then_redriven_once() -> None:
    # A short run at 1/1200 of the template's time, SNS down until the sender has given up on
    # each SMS it refused (make chaos keeps it down for 40 minutes of chaos time, during which
    # CPU load decides how many attempts fit): the SMS are parked with their reason after ten
    # attempts, and once SNS is back the operator's redrive sends each once, or drops it as
    # superseded.
    result = chaos.run(
        changes=12,
        calendars=2,
        seed=5,
        fault_rate=0,
        outage_at=0,
        outage_minutes=math.inf,
        time_scale=1 / 1200,
    )

    assert result.faults[("sns publish", chaos.Fault.OUTAGE)] > 0
    assert result.dead_letters.parked_in_outage > 0
    assert result.redriven + result.superseded >= result.dead_letters.parked_in_outage
    assert result.ok, result.last_line()
    assert (result.lost, result.duplicates, result.in_window) == (0, 0, 0)


def test_poison_records_are_parked_one_by_one_and_hold_nothing_back() -> None:
    result = chaos.run(changes=120, calendars=8, seed=11, fault_rate=0, outage_minutes=0, poison_share=0.1)

    dead = result.dead_letters
    assert dead.poison_parked >= 12 and dead.poison_not_parked == 0
    # Fault-free, each record is parked once, in the invocation that read it: no batch came
    # again for a poison record, so nothing behind one waited.
    assert result.records_retried == 0
    assert dead.parked_as_expected == dead.total
    assert result.ok, result.last_line()


class _Apt02645(chaos.FaultInjector):
    """The old apt-02645 duplicate, scripted: SES accepts an e-mail, its idempotency record's
    completion is throttled, so is the sender's early delete; the next call of the invocation
    is killed. The e-mail's record stays "in progress", its message on the queue."""

    def _pick(self, target: str, allowed: Sequence[chaos.Fault]) -> chaos.Fault | None:
        window = self._window
        if target == "idempotency" and window.awaiting_completion is not None:
            return chaos.Fault.THROTTLING
        if target == "sender early delete":
            return chaos.Fault.THROTTLING
        if window.open and window.awaiting_completion is None and window.awaiting_delete is None:
            return chaos.Fault.KILL_IN_WINDOW  # only once the e-mail is neither recorded nor deleted
        return None


def test_the_apt_02645_sequence_no_longer_sends_an_email_twice() -> None:
    # Before the sender ended the batch there, its next message's calls ran with the e-mail
    # neither recorded nor deleted, and the crash sent the e-mail again (in_window here).
    result = chaos.run(
        changes=40, calendars=4, seed=2, fault_rate=1, outage_minutes=0, injector_type=_Apt02645
    )

    trails = list(result.duplicate_trails.values())
    assert result.ok and (result.in_window, result.duplicates) == (0, 0), (result.last_line(), trails)
    assert result.faults[("sender early delete", chaos.Fault.THROTTLING)] > 0
    # After a failed early delete, the invocation makes no further AWS call.
    assert result.faults[("sender early delete", chaos.Fault.KILL_IN_WINDOW)] == 0
