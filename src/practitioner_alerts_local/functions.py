"""The real Lambda handlers, invoked in-process with their template environment.

Lambda would run each function in its own container with its own environment; locally they share
one process, so each invocation swaps the function's environment into ``os.environ`` for its
duration. Each function runs its handler module's INIT in a module object of its own (not the
one in ``sys.modules``), so the clients and queue URLs it builds there never leak from one stack
to the next, and an execution environment that crashed is replaced by a new INIT.

What the functions print (Powertools' JSON logs, EMF metrics) is what Lambda would ship to
CloudWatch Logs: it goes to a :class:`LambdaLogSink`, never to the CLI's stdout.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TextIO

from aws_lambda_powertools import Logger

from practitioner_alerts_local.stack import LocalStack

# X-Ray has no daemon locally; tracing would only print warnings.
# AWS_ACCOUNT_ID_ENDPOINT_MODE: moto routes regional endpoints only, not account-based ones.
_LOCAL_ONLY_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}


class LambdaLogSink(io.TextIOBase):
    """Where the functions' log lines go: stderr, nowhere, or a buffer a test reads."""

    def __init__(self, target: TextIO | None = None) -> None:
        self.target = target
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if self.target is not None:
            with self._lock:
                self.target.write(text)
                self.target.flush()
        return len(text)

    def writable(self) -> bool:
        return True


class ExecutionEnvironmentKilled(BaseException):
    """The execution environment died in the middle of an invocation (a crash, out of memory).

    A ``BaseException``, so nothing in the handler (Powertools' batch processor catches
    ``Exception``) can swallow it. Lambda reports such an invocation as a function error and
    starts the next one cold; :meth:`InProcessFunction.invoke` does both.
    """


@dataclass
class FakeLambdaContext:
    """The attributes of Lambda's context object that Powertools and the handlers read."""

    function_name: str
    invoked_function_arn: str
    timeout_seconds: float
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    # The invocation's time: wall time, or a scenario's (see ScenarioClock).
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = self.clock() + self.timeout_seconds

    @property
    def deadline(self) -> float:
        return self._deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self.clock()) * 1000))

    def past_deadline(self) -> bool:
        return self.clock() > self._deadline


class InvocationTimedOut(BaseException):
    """The invocation's time ran out in the middle of a call (a :class:`ScenarioClock` moved past
    its deadline). Lambda stops an invocation there, whatever it was doing: a ``BaseException``,
    so nothing in the handler carries on after it."""


class ScenarioClock:
    """An invocation clock that stands still unless a scenario moves it.

    Chaos runs its functions on one: CPU time and moto's calls do not count, only what a fault
    says a call took (a slow call, a call hung past the time-out), so a time-out is reached in
    emulated time without burning wall time, and the functions' time budgets see exactly the
    time the faults used up. :meth:`advance` past the running invocation's deadline raises
    :class:`InvocationTimedOut`.
    """

    def __init__(self) -> None:
        self._now = 0.0
        self.deadline: float | None = None  # the running invocation's, set by InProcessFunction

    def __call__(self) -> float:
        return self._now

    def remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds
        if self.deadline is not None and self._now > self.deadline:
            raise InvocationTimedOut(f"the invocation's time ran out {self._now - self.deadline:.3f} s ago")


class FunctionTimedOut(Exception):
    """The invocation ran past the function's time-out. Lambda stops it there and reports a
    function error, whatever it was doing; locally it runs to its end first (see
    :meth:`InProcessFunction.invoke`)."""


@dataclass(frozen=True)
class Invocation:
    """One synchronous invocation's outcome, as the event source mapping sees it."""

    request_id: str
    response: Any
    error: BaseException | None

    @property
    def function_error(self) -> str | None:
        # Lambda reports an uncaught exception as FunctionError "Unhandled".
        return "Unhandled" if self.error is not None else None


class InProcessFunction:
    """One function of the template: its handler, environment and settings."""

    def __init__(
        self,
        stack: LocalStack,
        logical_id: str,
        sink: LambdaLogSink,
    ) -> None:
        self.logical_id = logical_id
        self.name = stack.ref(logical_id)
        self.arn = stack.function_arn(logical_id)
        self.timeout_seconds: float = stack.template.function_timeout(logical_id)
        self.environment = {
            **stack.function_environment(logical_id),
            **_LOCAL_ONLY_ENVIRONMENT,
            "AWS_REGION": stack.clients.region,
            "AWS_DEFAULT_REGION": stack.clients.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
        }
        if stack.clients.endpoint_url:
            # boto3 honours AWS_ENDPOINT_URL: the handlers' clients reach the moto server.
            self.environment["AWS_ENDPOINT_URL"] = stack.clients.endpoint_url
        self._sink = sink
        props = stack.template.properties(logical_id)
        self._module_name, self._handler_name = _handler_location(
            str(props["CodeUri"]), str(props["Handler"])
        )
        self._module: ModuleType | None = None
        # An invocation past timeout_seconds counts as timed out (measured on ``clock``).
        self.enforces_timeout = True
        # Entered around every invocation; fault injection switches itself on here, so that it
        # touches only the function's own AWS calls, never the runtime's.
        self.invocation_scope: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
        # The invocations' time (their deadline and remaining time): wall time unless a scenario
        # gives the function a ScenarioClock.
        self.clock: Callable[[], float] = time.monotonic

    @property
    def service_name(self) -> str:
        return self.environment.get("POWERTOOLS_SERVICE_NAME", "service_undefined")

    def prepare(self) -> None:
        """Before the first INIT, which Lambda runs at the first invocation: the handler module
        must exist, and Powertools' logger for the function's service gets its handler now, so
        that it is the first one (Powertools takes the first handler of its logger for its own)."""
        if importlib.util.find_spec(self._module_name) is None:
            raise ImportError(f"{self._module_name}: no such handler module")
        with self._environment(), contextlib.redirect_stdout(self._sink):
            Logger(service=self.service_name)
        _route_powertools_output(self.service_name, self._sink)

    def load(self) -> ModuleType:
        """INIT: run the handler module under the function's environment, as a new execution
        environment does. Each gets a copy of its own (not the one in ``sys.modules``), so what
        the module builds at INIT (clients, caches) belongs to this function of this stack."""
        if self._module is None:
            spec = importlib.util.find_spec(self._module_name)
            if spec is None or spec.loader is None:
                raise ImportError(f"{self._module_name}: no such handler module")
            module = importlib.util.module_from_spec(spec)
            with self._environment(), contextlib.redirect_stdout(self._sink):
                spec.loader.exec_module(module)
            _route_powertools_output(self.service_name, self._sink)
            self._module = module
        return self._module

    def invoke(self, event: dict[str, Any]) -> Invocation:
        request_id = str(uuid.uuid4())
        try:
            module = self.load()
        except Exception as error:  # noqa: BLE001 - Lambda reports a failed INIT as the invocation's error
            self._log_error(error, request_id, error_type="Runtime.ImportModuleError")
            return Invocation(request_id, None, error)
        # The time-out runs from here: INIT has a limit of its own.
        context = FakeLambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            timeout_seconds=self.timeout_seconds,
            aws_request_id=request_id,
            clock=self.clock,
        )
        scenario = self.clock if isinstance(self.clock, ScenarioClock) else None
        if scenario is not None:
            scenario.deadline = context.deadline
        try:
            invocation = self._run(module, event, context)
        finally:
            if scenario is not None:
                scenario.deadline = None
        stopped = isinstance(invocation.error, InvocationTimedOut)
        if stopped or (self.enforces_timeout and context.past_deadline()):
            # Lambda would have stopped it at the deadline: whatever it returned or did after it
            # does not count, and the execution environment is replaced (INIT again).
            self._sink.write(f"{request_id} Task timed out after {self.timeout_seconds:.2f} seconds\n")
            self._module = None
            return Invocation(
                request_id, None, FunctionTimedOut(f"Task timed out after {self.timeout_seconds:.2f} seconds")
            )
        return invocation

    def _run(self, module: ModuleType, event: dict[str, Any], context: FakeLambdaContext) -> Invocation:
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, self._handler_name)
        with (
            self._environment(),
            contextlib.redirect_stdout(self._sink),
            warnings.catch_warnings(),
            self.invocation_scope(),
        ):
            # Python warnings (e.g. Powertools' "no metrics to publish") land in the function's log.
            warnings.showwarning = self._log_warning
            try:
                response = handler(event, context)
            except InvocationTimedOut as stopped:
                return Invocation(context.aws_request_id, None, stopped)
            except ExecutionEnvironmentKilled as killed:
                self._log_error(killed, context.aws_request_id, error_type="Runtime.ExitError")
                # Lambda never reuses an execution environment that died: the next one runs INIT.
                self._module = None
                return Invocation(context.aws_request_id, None, killed)
            except Exception as error:  # noqa: BLE001 - Lambda turns any uncaught error into a failed invocation
                self._log_error(error, context.aws_request_id)
                return Invocation(context.aws_request_id, None, error)
        return Invocation(context.aws_request_id, response, None)

    def _log_warning(  # noqa: PLR0917 - the signature of warnings.showwarning
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        self._sink.write(warnings.formatwarning(message, category, filename, lineno, line))

    def _log_error(self, error: BaseException, request_id: str, error_type: str | None = None) -> None:
        """What the Lambda runtime writes to the function's log for an uncaught error."""
        line = {
            "errorMessage": str(error),
            "errorType": error_type or type(error).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_exception(error),
        }
        self._sink.write(json.dumps(line) + "\n")

    @contextlib.contextmanager
    def _environment(self) -> Iterator[None]:
        saved = {name: os.environ.get(name) for name in self.environment}
        os.environ.update(self.environment)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _handler_location(code_uri: str, handler: str) -> tuple[str, str]:
    """``functions/detector`` + ``app.handler`` -> (``functions.detector.app``, ``handler``)."""
    module, _, attribute = handler.rpartition(".")
    package = code_uri.strip("/").replace("/", ".")
    return f"{package}.{module}", attribute


def _route_powertools_output(service_name: str, sink: LambdaLogSink) -> None:
    """Powertools' handler writes to the stdout it saw at import; point it at the sink instead."""
    for handler in logging.getLogger(service_name).handlers:
        stream = getattr(handler, "stream", None)
        if isinstance(handler, logging.StreamHandler) and (
            isinstance(stream, LambdaLogSink) or stream in (sys.stdout, sys.__stdout__)
        ):
            handler.setStream(sink)
