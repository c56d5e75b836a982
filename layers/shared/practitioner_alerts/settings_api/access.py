"""Who may touch which calendar: the calendars claim of the caller's JWT.

API Gateway's HTTP API JWT authorizer has already checked signature, issuer, audience and
expiry. It hands the claims to Lambda as strings, and flattens an array claim into a string
such as ``"[cal-a cal-b]"``; a directly invoked function (tests, ``sam local``) may get a real
list. Both, and a plain comma- or space-separated string, are read the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Caller:
    subject: str | None
    calendars: frozenset[str]

    def administers(self, calendar_id: str) -> bool:
        return calendar_id in self.calendars


def calendars_in_claim(value: object) -> frozenset[str]:
    if isinstance(value, list | tuple):
        items = [str(item) for item in value]
    elif isinstance(value, str):
        text = value.strip()
        parsed = _json_array(text)
        if parsed is not None:
            items = parsed
        else:
            if text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            items = _SEPARATORS.split(text)
    else:
        return frozenset()
    return frozenset(cleaned for item in items if (cleaned := item.strip()))


def _json_array(text: str) -> list[str] | None:
    """Items of a JSON array of strings ('["cal-a","cal-b"]'), else None."""
    if not text.startswith('["'):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return parsed
    return None


def caller_from(event: Mapping[str, Any], calendars_claim: str) -> Caller | None:
    """The caller, or None when the request carries no JWT claims at all."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    if not isinstance(claims, Mapping) or not claims:
        return None
    subject = claims.get("sub")
    return Caller(
        subject=str(subject) if subject is not None else None,
        calendars=calendars_in_claim(claims.get(calendars_claim)),
    )
