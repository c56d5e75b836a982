"""The local runtime enforces each function's time-out as Lambda does: an invocation that runs past
it is a function error whatever it did, and the next invocation starts a new execution
environment (INIT again). Through the stream trigger, the batch comes again and nothing is sent
twice."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from practitioner_alerts_local.functions import FunctionTimedOut
from practitioner_alerts_local.runtime import LocalRuntime
from tests.conftest import load_event
from tests.local.conftest import sample_calendars, write_bookings


class SlowFirstInvocations:
    """Makes the first ``count`` invocations take ``seconds`` longer, inside the invocation."""

    def __init__(self, count: int, seconds: float) -> None:
        self.left = count
        self.seconds = seconds

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        yield
        if self.left > 0:
            self.left -= 1
            time.sleep(self.seconds)


def test_an_invocation_past_its_time_out_fails_and_the_next_one_runs_init_again() -> None:
    with LocalRuntime.embedded() as runtime:
        runtime.put_calendars(sample_calendars())
        detector = runtime.function("DetectorFunction")
        detector.timeout_seconds = 0.5
        detector.invocation_scope = SlowFirstInvocations(count=1, seconds=0.6)

        timed_out_environment = detector.load()
        slow = detector.invoke(load_event("stream-practice-change.json"))
        quick = detector.invoke(load_event("stream-practice-change.json"))
        next_environment = detector.load()

    assert isinstance(slow.error, FunctionTimedOut), slow
    assert slow.response is None and slow.function_error == "Unhandled"
    assert quick.error is None and quick.response == {"batchItemFailures": []}
    assert next_environment is not timed_out_environment


def test_a_detector_batch_that_timed_out_comes_again_and_its_alert_goes_out_once() -> None:
    with LocalRuntime.embedded() as runtime:
        runtime.put_calendars(sample_calendars())
        detector = runtime.function("DetectorFunction")
        # The first invocation queues the booking's notifications, then runs past its time-out.
        detector.timeout_seconds = 0.5
        detector.invocation_scope = SlowFirstInvocations(count=1, seconds=0.6)
        write_bookings(runtime, "apt-late")
        runtime.drain()

        report = runtime.report()
    # Decided twice: the timed-out invocation's work did not count, the batch came again.
    assert [d["appointment_id"] for d in report.decisions].count("apt-late") == 2
    assert sorted(m.channel for m in report.sent if m.appointment_id == "apt-late") == ["email", "sms"]
