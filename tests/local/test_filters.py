"""Lambda's filter pattern syntax, on DynamoDB stream records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from practitioner_alerts_local.filters import FilterCriteria, InvalidFilter

RECORD: dict[str, Any] = {
    "eventName": "MODIFY",
    "dynamodb": {
        "NewImage": {
            "calendar_id": {"S": "cal-dr-weber"},
            "status": {"S": "cancelled"},
            "version": {"N": "2"},
        }
    },
}


def matches(*patterns: dict[str, Any]) -> bool:
    return FilterCriteria.from_template({"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}).matches(
        RECORD
    )


def image(condition: dict[str, Any]) -> dict[str, Any]:
    return {"dynamodb": {"NewImage": condition}}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["MODIFY"]}, True),
        ({"eventName": ["INSERT", "REMOVE"]}, False),
        (image({"status": {"S": ["cancelled"]}}), True),
        (image({"calendar_id": {"S": [{"prefix": "cal-dr-"}]}}), True),
        (image({"calendar_id": {"S": [{"prefix": "cal-x"}]}}), False),
        (image({"calendar_id": {"S": [{"suffix": "weber"}]}}), True),
        (image({"status": {"S": [{"anything-but": ["cancelled"]}]}}), False),
        (image({"status": {"S": [{"anything-but": "booked"}]}}), True),
        (image({"status": {"S": [{"anything-but": {"prefix": "can"}}]}}), False),
        (image({"status": [{"exists": True}]}), True),
        (image({"expires_at": [{"exists": True}]}), False),
        (image({"expires_at": [{"exists": False}]}), True),
        (image({"version": {"N": [{"numeric": [">", 1, "<=", 2]}]}}), True),
        (image({"version": {"N": [{"numeric": [">", 2]}]}}), False),
        (image({"status": {"S": [{"equals-ignore-case": "CANCELLED"}]}}), True),
        ({"eventName": ["MODIFY"], **image({"status": {"S": ["booked"]}})}, False),  # every key must match
    ],
)
def test_a_pattern_matches_as_lambda_matches_it(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern) is expected


def test_any_of_several_filters_lets_a_record_through() -> None:
    assert matches({"eventName": ["INSERT"]}, {"eventName": ["MODIFY"]})


def test_no_filters_let_everything_through() -> None:
    assert FilterCriteria.from_template(None).matches(RECORD)


def test_a_pattern_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidFilter):
        FilterCriteria.from_template({"Filters": [{"Pattern": "{not json"}]})
