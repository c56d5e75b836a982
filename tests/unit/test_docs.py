"""The docs say what the template and the code do: figures, names and examples kept in step.

A figure that comes from template.yaml (receive counts, time-outs, windows, defaults) is read
from the template here and looked for in the sentence that states it, so changing the template
without the docs fails. Examples a platform developer copies (the README's appointment item,
the contract's refusal reasons) are run through the real code.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from practitioner_alerts.domain.appointments import Appointment, read_appointment
from practitioner_alerts.errors import MalformedRecord
from practitioner_alerts_local.stack import DEFAULT_TEMPLATE, LOCAL_STACK_NAME
from practitioner_alerts_local.template import (
    StackContext,
    Template,
    create_table_request,
    load_template,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = load_template(DEFAULT_TEMPLATE)
RESOURCES: dict[str, Any] = DOCUMENT["Resources"]
WORDS = {"five": 5, "ten": 10, "fifth": 5, "tenth": 10, "an": 1, "one": 1, "24": 24}


def doc(name: str) -> str:
    # One line per sentence is not how docs wrap; compare with the line breaks taken out.
    return " ".join((ROOT / name).read_text(encoding="utf-8").split())


def properties(logical_id: str) -> dict[str, Any]:
    return dict(RESOURCES[logical_id]["Properties"])


def function_timeout(logical_id: str) -> int:
    """A function's own Timeout, or the Globals' (SAM's default for every function)."""
    default = DOCUMENT["Globals"]["Function"]["Timeout"]
    return int(properties(logical_id).get("Timeout", default))


def stream_mapping() -> dict[str, Any]:
    events = properties("DetectorFunction")["Events"]
    return dict(events["AppointmentStream"]["Properties"])


def parameter_default(name: str) -> int:
    return int(DOCUMENT["Parameters"][name]["Default"])


def number(text: str) -> int:
    return WORDS.get(text.lower()) or int(text)


MAX_RECEIVES = int(properties("NotificationQueue")["RedrivePolicy"]["maxReceiveCount"])
SENDER_TIMEOUT = function_timeout("SenderFunction")
DETECTOR_TIMEOUT = function_timeout("DetectorFunction")
VISIBILITY = int(properties("NotificationQueue")["VisibilityTimeout"])
RECORD_AGE_HOURS = int(stream_mapping()["MaximumRecordAgeInSeconds"]) // 3600

# (document, a pattern whose groups are the figure as the document states it, what it must be)
FIGURES: list[tuple[str, str, Callable[[], int]]] = [
    ("docs/architecture.md", r"after (\d+|\w+) receives → DLQ", lambda: MAX_RECEIVES),
    ("docs/architecture.md", r"a message at its (\w+) receive \(`maxReceiveCount`\)", lambda: MAX_RECEIVES),
    ("docs/operations.md", r"At its (\w+) receive, about 25 minutes after the first", lambda: MAX_RECEIVES),
    ("docs/operations.md", r"outlasted its (\w+) attempt", lambda: MAX_RECEIVES),
    ("docs/operations.md", r"gave up after (\d+) attempts", lambda: MAX_RECEIVES),
    ("docs/operations.md", r"parked with the reason after (\w+) attempts", lambda: MAX_RECEIVES),
    ("docs/architecture.md", r"the sender's time-out \| \*\*(\d+) s\*\*", lambda: SENDER_TIMEOUT),
    ("docs/architecture.md", r"6 × (\d+) s = \*\*\d+ s\*\*", lambda: SENDER_TIMEOUT),
    ("docs/architecture.md", r"6 × \d+ s = \*\*(\d+) s\*\*", lambda: VISIBILITY),
    ("docs/architecture.md", r"are left of its (\d+) s", lambda: DETECTOR_TIMEOUT),
    ("docs/operations.md", r"bounded by the records' age \((\w+) hour\)", lambda: RECORD_AGE_HOURS),
    (
        "README.md",
        r"`ShortNoticeWindowHours` \| the cancellation/reschedule window, default (\d+)",
        lambda: parameter_default("ShortNoticeWindowHours"),
    ),
    (
        "docs/appointments-contract.md",
        r"`ShortNoticeWindowHours` \(default (\d+)\)",
        lambda: parameter_default("ShortNoticeWindowHours"),
    ),
    (
        "README.md",
        r"at most (\d+) hours of elapsed time",
        lambda: parameter_default("ShortNoticeWindowHours"),
    ),
    (
        "README.md",
        r"`SmsPerCalendarPerHour` \| cost cap in SMS segments per calendar and hour, default (\d+)",
        lambda: parameter_default("SmsPerCalendarPerHour"),
    ),
    ("README.md", r"per calendar and hour \((\d+), \d+\)", lambda: parameter_default("TestAlertsPerHour")),
    (
        "README.md",
        r"per calendar and hour \(\d+, (\d+)\)",
        lambda: parameter_default("VerificationCodesPerHour"),
    ),
    ("README.md", r"per person and hour \((\d+)\)", lambda: parameter_default("SendsPerSubjectPerHour")),
    (
        "README.md",
        r"concurrent detector batches per stream shard \((\d+)\)",
        lambda: parameter_default("StreamParallelizationFactor"),
    ),
    (
        "docs/architecture.md",
        r"`MaximumBatchingWindowInSeconds` 0, `ParallelizationFactor` (\d+)\*\*",
        lambda: parameter_default("StreamParallelizationFactor"),
    ),
    (
        "docs/operations.md",
        r"\| `StreamParallelizationFactor` \| (\d+) \|",
        lambda: parameter_default("StreamParallelizationFactor"),
    ),
    (
        "docs/operations.md",
        r"\| `SenderReservedConcurrency` \| (\d+) \(none reserved\) \|",
        lambda: parameter_default("SenderReservedConcurrency"),
    ),
]


@pytest.mark.parametrize(("document", "pattern", "expected"), FIGURES, ids=[p for _, p, _ in FIGURES])
def test_each_figure_the_docs_take_from_the_template_matches_it(
    document: str, pattern: str, expected: Callable[[], int]
) -> None:
    found = re.findall(pattern, doc(document))

    assert found, f"{document} no longer says {pattern!r}; keep the figure (and this test) in step"
    assert [number(value) for value in found] == [expected()] * len(found)


def test_no_doc_gives_another_receive_count_for_the_notification_queue() -> None:
    counts = {
        number(match)
        for name in ("README.md", *(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))
        for match in re.findall(r"(?:received|receives?) (\w+) times|after (\w+) receives", doc(name))
        for match in match
        if match
    }
    assert counts <= {MAX_RECEIVES}


def test_the_stream_has_no_batching_window_as_the_docs_say() -> None:
    assert int(stream_mapping()["MaximumBatchingWindowInSeconds"]) == 0
    assert "The stream has no batching window" in doc("docs/architecture.md")


def test_the_make_targets_take_the_time_the_readme_says() -> None:
    makefile = doc("Makefile")
    readme = doc("README.md")
    for target in ("bench", "chaos"):
        in_make = re.search(rf"make {target} +- [^(]*\((~\d+ min)", makefile)
        in_readme = re.search(rf"make {target} +#[^#]*?(~\d+ min)", readme)
        assert in_make and in_readme, target
        assert in_make.group(1) == in_readme.group(1), target


def readme_item() -> tuple[str, dict[str, Any]]:
    """TableName and Item of the README's put_item, read as Python (no code is run)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "put_item":
                arguments = {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords}
                return arguments["TableName"], arguments["Item"]
    raise AssertionError("the README shows no put_item")


def test_the_readme_appointment_is_complete_and_valid_as_the_contract_describes_it() -> None:
    table, item = readme_item()
    deserialize = TypeDeserializer().deserialize

    appointment = Appointment.model_validate({name: deserialize(value) for name, value in item.items()})

    contract = doc("docs/appointments-contract.md")
    attributes = set(re.findall(r"\| `(\w+)` \| [SN] \|", contract))
    assert attributes == set(item), "the README's item shows every attribute of the contract"
    assert appointment.status == "booked" and appointment.changed_by == "patient"
    template = Template(DOCUMENT, StackContext(LOCAL_STACK_NAME, "eu-central-1", "123456789012"))
    assert table == create_table_request(template, "AppointmentsTable")["TableName"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"starts_at": "2027-09-09T12:00:00"},
            "NewImage.starts_at: must be an ISO-8601 string with an offset, e.g. 2027-09-09T12:00:00+02:00 "
            "(this one has no offset)",
        ),
        ({"status": "done"}, "NewImage.status: must be 'booked' or 'cancelled', e.g. booked"),
        (
            {"visit_motive": "x" * 501},
            "NewImage.visit_motive: must be at most 500 characters, e.g. Erstuntersuchung",
        ),
    ],
)
def test_the_contracts_refusal_examples_are_what_the_detector_says(
    change: dict[str, str], reason: str
) -> None:
    _, item = readme_item()
    deserialize = TypeDeserializer().deserialize
    image = {name: deserialize(value) for name, value in item.items()} | change

    with pytest.raises(MalformedRecord) as refused:
        read_appointment("NewImage", image)

    assert refused.value.reason == reason
    assert f"`{reason}`" in doc("docs/appointments-contract.md")
