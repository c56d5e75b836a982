"""Lambda event filtering (FilterCriteria), applied the way the event source mapping applies it.

A record reaches the function when ANY filter's pattern matches. Within a pattern every key must
match; a list of conditions matches when any of them does. Supported conditions: exact values
(including ``null``), ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (values or
a ``prefix``), ``exists`` and ``numeric`` ranges. For SQS, a JSON ``body`` is matched as JSON,
as Lambda does; a body that is not JSON only matches plain-string conditions.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_MISSING = object()


class InvalidFilter(ValueError):
    pass


@dataclass(frozen=True)
class FilterCriteria:
    patterns: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_template(cls, value: Mapping[str, Any] | None) -> FilterCriteria:
        """From an event's ``FilterCriteria: {Filters: [{Pattern: '<json>'}]}``."""
        patterns = []
        for item in (value or {}).get("Filters") or []:
            pattern = item.get("Pattern")
            try:
                parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
            except json.JSONDecodeError as error:
                raise InvalidFilter(f"FilterCriteria pattern is not JSON: {pattern!r}") from error
            if not isinstance(parsed, dict):
                raise InvalidFilter(f"FilterCriteria pattern must be a JSON object: {pattern!r}")
            patterns.append(parsed)
        return cls(tuple(patterns))

    def matches(self, record: Mapping[str, Any]) -> bool:
        return not self.patterns or any(_match_object(pattern, record) for pattern in self.patterns)


def sqs_filterable(record: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS record as Lambda's filter sees it: the body parsed when it is JSON."""
    view = dict(record)
    body = record.get("body")
    if isinstance(body, str):
        with contextlib.suppress(json.JSONDecodeError):
            view["body"] = json.loads(body)
    return view


def _match_object(pattern: Mapping[str, Any], value: Any) -> bool:
    for key, condition in pattern.items():
        inner = value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
        if isinstance(condition, Mapping):
            if inner is _MISSING or not _match_object(condition, inner):
                return False
        elif isinstance(condition, list):
            if not _match_any(condition, inner):
                return False
        else:
            raise InvalidFilter(f"filter value for {key!r} must be an object or a list, got {condition!r}")
    return True


def _match_any(conditions: Sequence[Any], value: Any) -> bool:
    # A list in the event matches when any of its elements does.
    candidates = value if isinstance(value, list) else [value]
    return any(_match_condition(condition, candidate) for condition in conditions for candidate in candidates)


def _match_condition(condition: Any, value: Any) -> bool:
    if not isinstance(condition, Mapping):
        if value is _MISSING:
            return False
        if condition is None:
            return value is None
        return _equal(condition, value)
    ((operator, argument),) = condition.items()
    if operator == "exists":
        return (value is not _MISSING) is bool(argument)
    if value is _MISSING:
        # anything-but does not match a missing field either, as in Lambda.
        return False
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(str(argument))
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(str(argument))
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(argument).lower()
    if operator == "anything-but":
        if isinstance(argument, Mapping):
            return not _match_condition(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_match_condition(item, value) for item in excluded)
    if operator == "numeric":
        return _match_numeric(argument, value)
    raise InvalidFilter(f"unsupported filter operator {operator!r}")


def _equal(condition: Any, value: Any) -> bool:
    # "1" never equals 1 and true never equals 1, as in Lambda's matcher.
    if isinstance(condition, bool) or isinstance(value, bool):
        return condition is value
    if isinstance(condition, int | float) and isinstance(value, int | float):
        return condition == value
    return type(condition) is type(value) and bool(condition == value)


_COMPARISONS = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _match_numeric(argument: Sequence[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        # DynamoDB numbers are strings in {"N": "12"}; Lambda compares them as numbers there too.
        try:
            value = float(value)
        except (TypeError, ValueError):
            return False
    for index in range(0, len(argument), 2):
        operator, bound = argument[index], argument[index + 1]
        compare = _COMPARISONS.get(operator)
        if compare is None:
            raise InvalidFilter(f"unsupported numeric operator {operator!r}")
        if not compare(value, bound):
            return False
    return True
