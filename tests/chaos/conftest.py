from __future__ import annotations

import pytest

from practitioner_alerts_local import chaos

# Chaos time 5 x shorter than make chaos's, so that crashed batches come back sooner; the SNS
# outage has a test of its own (test_fault_classes.py).
SMALL = {
    "changes": 300,
    "calendars": 30,
    "seed": chaos.DEFAULT_SEED,
    "time_scale": chaos.CHAOS_TIME_SCALE / 5,
    "outage_minutes": 0,
}


@pytest.fixture(scope="session")
def as_shipped() -> chaos.ChaosResult:
    """The template's own settings, under faults on every class of AWS call (one run for the
    tests of every class)."""
    return chaos.run(**SMALL)  # type: ignore[arg-type]
