"""Test-wide environment: no real AWS account, no X-Ray daemon, no region guessing."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.dynamodb_local import engine

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ.setdefault("AWS_REGION", "eu-central-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "practitioner-alerts")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "PractitionerAlerts")

EVENTS = Path(__file__).resolve().parent.parent / "events"

# Property tests explore the same examples on every run of `make test` ("ci"), so a red build
# can be reproduced; `HYPOTHESIS_PROFILE=deep` explores new ones each run, and more of them
# where a test does not fix its own count, to look for what the fixed set misses.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("deep", derandomize=False, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, the same file `sam local invoke -e` uses."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def machine_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to America/New_York (a developer's laptop), then back."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def event() -> Any:
    return load_event


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[str]:
    """AWS's DynamoDB Local, started once per test session on a free loopback port."""
    with engine.running() as url:
        yield url
