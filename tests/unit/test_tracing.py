"""The lazy tracer: nothing built at import, and at the first call exactly Powertools' Tracer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aws_lambda_powertools
import pytest
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing import tracer as powertools_tracer

from practitioner_alerts.tracing import LazyTracer


@dataclass
class Subsegment:
    name: str
    annotations: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[key] = value


@dataclass
class RecordingProvider:
    """Stands in for the X-Ray recorder: keeps the subsegments instead of sending them."""

    subsegments: list[Subsegment] = field(default_factory=list)
    patched: list[Any] = field(default_factory=list)

    @contextlib.contextmanager
    def in_subsegment(self, name: str, **_: Any) -> Iterator[Subsegment]:
        subsegment = Subsegment(name)
        self.subsegments.append(subsegment)
        yield subsegment

    def patch_all(self) -> None:
        self.patched.append("all")

    def patch(self, modules: Any) -> None:
        self.patched.append(modules)


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProvider]:
    # Powertools keeps the Tracer's configuration (provider included) on the class, and the
    # cold-start flag in its module: both go back to what they were after the test.
    monkeypatch.setattr(powertools_tracer, "is_cold_start", True)
    monkeypatch.delenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", raising=False)
    saved = Tracer._config
    Tracer._reset_config()
    try:
        yield RecordingProvider()
    finally:
        Tracer._config = saved


def test_nothing_is_built_until_the_first_call(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []

    class SpyTracer:
        def __init__(self, **options: Any) -> None:
            built.append(options)

        def capture_lambda_handler(self, handler: Any, **_: Any) -> Any:
            return handler

    monkeypatch.setattr(aws_lambda_powertools, "Tracer", SpyTracer)
    tracer = LazyTracer(service="alerts")

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> str:
        return "done"

    assert built == []
    assert handler({}, None) == "done"
    assert handler({}, None) == "done"
    assert built == [{"service": "alerts"}]


def test_the_first_call_patches_before_the_handler_runs_and_is_the_cold_start(
    provider: RecordingProvider,
) -> None:
    tracer = LazyTracer(provider=provider, disabled=False, service="alerts")
    patched_when_called: list[list[Any]] = []

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        patched_when_called.append(list(provider.patched))
        return {"records": len(event)}

    assert provider.patched == []
    assert handler({"a": 1}, None) == {"records": 1}
    assert handler({}, None) == {"records": 0}

    assert patched_when_called == [["all"], ["all"]]  # auto_patch ran once, before the first body
    first, second = provider.subsegments
    assert first.name == second.name == "## handler"
    assert first.annotations == {"ColdStart": True, "Service": "alerts"}
    assert second.annotations == {"ColdStart": False, "Service": "alerts"}
    assert first.metadata == {"handler response": {"records": 1}}


def test_capture_response_false_keeps_the_response_out_of_the_trace(provider: RecordingProvider) -> None:
    tracer = LazyTracer(provider=provider, disabled=False)

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
        return {"alert_email": "praxis@example.com"}

    assert handler({}, None) == {"alert_email": "praxis@example.com"}
    assert provider.subsegments[0].metadata == {}


def test_errors_propagate_and_are_recorded(provider: RecordingProvider) -> None:
    tracer = LazyTracer(provider=provider, disabled=False)

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        handler({}, None)
    (subsegment,) = provider.subsegments
    assert subsegment.annotations["ColdStart"] is True
    assert "handler error" in subsegment.metadata


def test_the_decorated_handler_keeps_its_name() -> None:
    tracer = LazyTracer()

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: Any) -> None:
        return None

    assert handler.__name__ == "handler"
