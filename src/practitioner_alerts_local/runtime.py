"""The local runtime: the template's stack on moto, the real handlers behind emulated triggers.

Two ways to run it:

* **drain** (tests, ``demo``, ``replay``): poll stream and queue until nothing is left and
  nothing is in flight. Batching windows are not waited for, and messages that failed are made
  visible again at once instead of after their visibility timeout.
* **real time** (``serve``): a background loop polls every ``poll_interval`` seconds and honours
  batching windows and visibility timeouts as Lambda would.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from unittest import mock

from moto import mock_aws
from moto.sqs import models as moto_sqs

from practitioner_alerts.adapters.dynamodb import CalendarSettingsTable, from_item
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.api.tokens import LocalTokenIssuer
from practitioner_alerts_local.functions import InProcessFunction, Invocation, LambdaLogSink
from practitioner_alerts_local.observe import (
    DeadLetterQueueRef,
    DeadLetters,
    PipelineObserver,
    SentMessage,
    expected_notification,
)
from practitioner_alerts_local.realtime import LocalRealtime, OnSubscribe, SubscribeFailed
from practitioner_alerts_local.stack import (
    DEFAULT_SAMCONFIG,
    DEFAULT_TEMPLATE,
    AwsClients,
    LocalStack,
    QueueMappingConfig,
    StreamMappingConfig,
    samconfig_region,
)
from practitioner_alerts_local.triggers import QueuePoller, StreamPoller, TtlSweeper

APPOINTMENTS_TABLE = "AppointmentsTable"
SETTINGS_TABLE = "CalendarSettingsTable"
FEED_TABLE = "AlertsFeedTable"
# A pipeline that has not gone quiet after this many invocations is stuck in a retry loop
# (e.g. MaximumRetryAttempts -1 and a record that always fails); drain stops and says so.
MAX_DRAIN_INVOCATIONS = 5000
# serve's real-time loop sweeps TTL at most this often. Each sweep scans whole tables (~160 ms
# with a day of bookings), which every 0.2 s poll would pay before a new booking is even read;
# DynamoDB's own TTL deletes expired items lazily, within days, so a few seconds is faithful.
TTL_SWEEP_INTERVAL_SECONDS = 5.0


class PipelineDidNotSettle(RuntimeError):
    pass


# SQS drops a FIFO message whose deduplication id it saw in the last five minutes.
DEDUPLICATION_INTERVAL_SECONDS = 300


@contextlib.contextmanager
def fifo_deduplication_as_on_sqs() -> Iterator[None]:
    """Deduplicate FIFO messages for five minutes even after the first copy was deleted.

    moto compares a new message only with the messages still in the queue, so a stream batch
    retried after the sender consumed its notifications would queue them again; SQS would not.
    """
    original = moto_sqs.Queue.add_message
    seen: dict[tuple[str, str | None, str], float] = {}

    def add_message(queue: Any, message: Any) -> None:
        if queue.fifo_queue and message.deduplication_id:
            by_group = queue.deduplication_scope == "messageGroup"
            key = (queue.queue_arn, message.group_id if by_group else None, message.deduplication_id)
            now = time.time()
            if now - seen.get(key, float("-inf")) < DEDUPLICATION_INTERVAL_SECONDS:
                return
            seen[key] = now
        original(queue, message)

    with mock.patch.object(moto_sqs.Queue, "add_message", add_message):
        yield


def _stopping(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


@dataclass
class RunReport:
    decisions: list[dict[str, Any]]
    sent: list[SentMessage]
    dead_letters: list[dict[str, Any]]
    feed: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "sent": [message.as_json() for message in self.sent],
            "dead_letters": self.dead_letters,
        }


class LocalRuntime:
    """One local stack with its functions and triggers."""

    def __init__(
        self,
        stack: LocalStack,
        *,
        lambda_logs: TextIO | None = None,
        clock: Callable[[], float] = time.time,  # the appointments table's TTL time, see sweep_ttl
        # The stream's own time, against which a record's age is measured (its
        # ApproximateCreationDateTime is wall time): a test moves it to age records past the
        # mapping's MaximumRecordAgeInSeconds without waiting an hour.
        stream_clock: Callable[[], float] = time.time,
        stream_mappings: Sequence[StreamMappingConfig] | None = None,
        queue_mappings: Sequence[QueueMappingConfig] | None = None,
    ) -> None:
        self.stack = stack
        self.clients = stack.clients
        # The local AppSync Events endpoint the sender publishes to, when this process runs one.
        self.realtime: LocalRealtime | None = None
        self.clock = clock
        self.ttl_sweep_interval = TTL_SWEEP_INTERVAL_SECONDS
        self._next_sweep = float("-inf")  # monotonic time of step's next TTL sweep
        self.sink = LambdaLogSink(lambda_logs)
        self.observer = PipelineObserver(stack.clients.region)
        self._functions: dict[str, InProcessFunction] = {}
        self.sweepers = [
            TtlSweeper(stack.clients, logical_id, stack.ref(logical_id), attribute)
            for logical_id, attribute in stack.ttl_attributes.items()
        ]
        ttl_keys = self._ttl_keys_of(APPOINTMENTS_TABLE)
        self.stream_pollers = [
            StreamPoller(config, self.function(config.function), stack.clients, ttl_keys, clock=stream_clock)
            for config in (stream_mappings if stream_mappings is not None else stack.stream_mappings())
        ]
        self.queue_pollers = [
            QueuePoller(config, self.function(config.function), stack.clients, self._expect_notifications)
            for config in (queue_mappings if queue_mappings is not None else stack.queue_mappings())
        ]
        self.dead_letters = DeadLetters(
            [DeadLetterQueueRef(url, stack.clients.region) for url in self._dead_letter_queue_urls()]
        )
        for function in self._functions.values():
            function.prepare()  # a missing handler fails at start; INIT is at the first invocation
        # Added after Powertools' own: it takes the first handler of its logger for its own.
        self._observed_loggers = {function.service_name for function in self._functions.values()}
        for service in self._observed_loggers:
            logging.getLogger(service).addHandler(self.observer)

    # -- Construction ---------------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def embedded(
        cls,
        *,
        template_path: Path = DEFAULT_TEMPLATE,
        samconfig_path: Path = DEFAULT_SAMCONFIG,
        parameter_overrides: Mapping[str, str] | None = None,
        region: str | None = None,
        lambda_logs: TextIO | None = None,
        clock: Callable[[], float] = time.time,
        stream_clock: Callable[[], float] = time.time,
        stream_mappings: Callable[[LocalStack], Sequence[StreamMappingConfig]] | None = None,
        queue_mappings: Callable[[LocalStack], Sequence[QueueMappingConfig]] | None = None,
    ) -> Iterator[LocalRuntime]:
        """A fresh stack on moto in this process; everything is gone when the block ends.

        It has its own real-time endpoint on a free loopback port, so the sender's pushes go
        through the same adapter and HTTP publish as on ``serve`` (and reach no other stack):
        with nobody subscribed they reach no one, as on AWS."""
        with (
            mock_aws(),
            fifo_deduplication_as_on_sqs(),
            LocalRealtime(port=0, issuer=LocalTokenIssuer()) as realtime,
        ):
            clients = AwsClients(region or samconfig_region(samconfig_path))
            stack = LocalStack.from_files(
                clients, template_path, parameter_overrides, samconfig_path, realtime_endpoint=realtime.host
            )
            stack.create()
            runtime = cls(
                stack,
                lambda_logs=lambda_logs,
                clock=clock,
                stream_clock=stream_clock,
                stream_mappings=stream_mappings(stack) if stream_mappings else None,
                queue_mappings=queue_mappings(stack) if queue_mappings else None,
            )
            runtime.realtime = realtime
            realtime.on_subscribe = runtime.on_subscribe(threading.Lock())
            try:
                yield runtime
            finally:
                runtime.close()

    def on_subscribe(self, invocations: threading.Lock) -> OnSubscribe | None:
        """The channel namespace's OnSubscribe handler: the template's function, invoked
        in-process one call at a time with the others (they swap os.environ per call)."""
        logical_ids = [
            function_id
            for namespace in self.stack.channel_namespaces()
            if (function_id := self.stack.on_subscribe_function(namespace)) is not None
        ]
        if not logical_ids:
            return None
        function = self.function(logical_ids[0])

        def invoke(event: dict[str, Any]) -> Any:
            with invocations:
                invocation = function.invoke(event)
            if invocation.error is not None:
                raise SubscribeFailed(f"{function.logical_id} failed: {type(invocation.error).__name__}")
            return invocation.response

        return invoke

    def function(self, logical_id: str) -> InProcessFunction:
        if logical_id not in self._functions:
            self._functions[logical_id] = InProcessFunction(self.stack, logical_id, self.sink)
        return self._functions[logical_id]

    def close(self) -> None:
        for service in self._observed_loggers:
            logging.getLogger(service).removeHandler(self.observer)

    def _ttl_keys_of(self, table_logical_id: str) -> set[str]:
        for sweeper in self.sweepers:
            if sweeper.table_logical_id == table_logical_id:
                return sweeper.deleted_keys
        return set()

    def _dead_letter_queue_urls(self) -> list[str]:
        urls: list[str] = []
        for stream in self.stream_pollers:
            if stream.config.on_failure_queue_url:
                urls.append(stream.config.on_failure_queue_url)
        for queue in self.queue_pollers:
            if queue.config.dead_letter_queue_url:
                urls.append(queue.config.dead_letter_queue_url)
        return list(dict.fromkeys(urls))

    def _expect_notifications(self, records: list[dict[str, Any]]) -> None:
        found = (expected_notification(str(record.get("body", ""))) for record in records)
        self.observer.expect(notification for notification in found if notification is not None)

    # -- Inputs ---------------------------------------------------------------------------------
    def put_calendars(self, calendars: Iterable[CalendarSettings], *, verified: bool = True) -> None:
        """Store calendar settings as an operator's import does (same adapter, same item shape as
        the settings API): with their contacts marked proven unless ``verified`` is False, then
        they are pending as if just typed in, and get nothing until confirmed through the API."""
        table = CalendarSettingsTable(self.clients("dynamodb"), self.stack.ref(SETTINGS_TABLE))
        for settings in calendars:
            table.put(settings.with_contacts_verified() if verified else settings.keeping_proof_of(None))

    def appointments_table(self) -> str:
        return self.stack.ref(APPOINTMENTS_TABLE)

    def replay(self, event: Mapping[str, Any]) -> None:
        """One Lambda DynamoDB stream event, delivered as one batch to the appointments mapping."""
        poller = self._appointments_stream()
        poller.submit([dict(record) for record in event["Records"]])

    def invoke(self, logical_id: str, event: Mapping[str, Any]) -> Invocation:
        """Invoke one function directly with a ready-made event (like ``sam local invoke -e``)."""
        records = [dict(record) for record in event.get("Records", [])]
        if records and records[0].get("eventSource") == "aws:sqs":
            self._expect_notifications(records)
        invocation = self.function(logical_id).invoke({**event, "Records": records})
        self.observer.collect_unattributed()
        return invocation

    def _appointments_stream(self) -> StreamPoller:
        for poller in self.stream_pollers:
            if poller.config.table == APPOINTMENTS_TABLE:
                return poller
        raise LookupError(f"the template has no stream event source on {APPOINTMENTS_TABLE}")

    # -- Running --------------------------------------------------------------------------------
    def sweep_ttl(self) -> int:
        """Expire items as DynamoDB's TTL would.

        ``clock`` is the booking platform's time and only drives the appointments table, whose
        ``expires_at`` the platform writes (a scenario may set it to any day). The pipeline's own
        tables (idempotency, feed, ...) are written with real timestamps, so they expire on real
        time; a scenario clock in 2027 must not wipe today's idempotency records.
        """
        deleted = 0
        for sweeper in self.sweepers:
            now = self.clock() if sweeper.table_logical_id == APPOINTMENTS_TABLE else time.time()
            deleted += sweeper.sweep(now)
        return deleted

    def drain(
        self,
        *,
        time_scale: float | None = None,
        wait_for_held: bool = True,
        max_invocations: int = MAX_DRAIN_INVOCATIONS,
    ) -> None:
        """Run stream and queue until nothing is left and nothing is in flight.

        ``time_scale``: failed queue messages come back after their visibility timeout times this
        factor instead of at once (see :attr:`QueuePoller.time_scale`); drain waits for them,
        unless ``wait_for_held`` is False (then it returns when only such messages are left).
        """
        for queue in self.queue_pollers:
            queue.time_scale = time_scale
        # Once per drain: the clock stands still meanwhile, and each sweep scans whole tables.
        self.sweep_ttl()
        invocations = 0
        while True:
            progressed = False
            if time_scale is not None:
                for queue in self.queue_pollers:
                    progressed = queue.release_due() or progressed
            for stream in self.stream_pollers:
                stream.read_shard()
                while stream.poll(drain=True):
                    progressed = True
                    invocations += 1
            for queue in self.queue_pollers:
                if queue.poll(drain=True):
                    progressed = True
                    invocations += 1
            # Failed messages would come back after their visibility timeout; do it now.
            if not progressed and not [queue for queue in self.queue_pollers if queue.make_visible_now()]:
                held = [at for queue in self.queue_pollers if (at := queue.next_release()) is not None]
                if not held or not wait_for_held:
                    break
                time.sleep(max(0.0, min(held) - time.monotonic()))
            if invocations > max_invocations:
                raise PipelineDidNotSettle(f"still busy after {max_invocations} invocations")
        self.observer.collect_unattributed()

    def step(self, stop: threading.Event | None = None) -> bool:
        """One real-time round (serve): honours batching windows and visibility timeouts.

        ``stop`` is looked at between invocations: a record that always fails is retried without
        end (MaximumRetryAttempts -1), and the round must not outlast a Ctrl-C.
        """
        if time.monotonic() >= self._next_sweep:
            self.sweep_ttl()
            self._next_sweep = time.monotonic() + self.ttl_sweep_interval
        progressed = False
        for stream in self.stream_pollers:
            stream.read_shard()
            while not _stopping(stop) and stream.poll(drain=False):
                progressed = True
        for queue in self.queue_pollers:
            while not _stopping(stop) and queue.poll(drain=False):
                progressed = True
            queue.failed_receipts.clear()  # they come back when their visibility timeout ends
        self.observer.collect_unattributed()
        return progressed

    def run_until(self, stop: threading.Event, poll_interval: float = 0.2) -> None:
        while not stop.is_set():
            if not self.step(stop):
                stop.wait(poll_interval)

    # -- Output ---------------------------------------------------------------------------------
    def report(self, *, with_feed: bool = True) -> RunReport:
        """What the run decided, sent and parked; ``with_feed`` adds the feed table, which
        takes a scan, so serve's console and outbox (which never show it) leave it out."""
        decisions, sent = self.observer.snapshot()
        return RunReport(
            decisions=decisions,
            sent=sent,
            dead_letters=self.dead_letters.read(),
            feed=self.feed() if with_feed else [],
        )

    def feed(self) -> list[dict[str, Any]]:
        """The in-calendar feed entries the sender wrote, oldest change first."""
        if FEED_TABLE not in self.stack.template.physical:
            return []
        dynamodb = self.clients("dynamodb")
        request: dict[str, Any] = {"TableName": self.stack.ref(FEED_TABLE)}
        entries: list[dict[str, Any]] = []
        while True:
            page = dynamodb.scan(**request)
            entries.extend(from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(entries, key=lambda entry: str(entry.get("alert_id", "")))
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
