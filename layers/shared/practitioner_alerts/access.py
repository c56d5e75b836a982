"""Who may touch which calendar: one rule for the settings API and the real-time subscriptions.

A token lists calendars at two levels. The administer claim (``CALENDARS_CLAIM``, default
``calendars``) keeps the meaning it always had, so tokens issued before the second level existed
work unchanged: the practitioner who may change where alerts go. The view claim
(``VIEW_CALENDARS_CLAIM``, default ``calendars_view``) lists calendars its holder may only *see*:
the front desk, who should get the pop-ups and the feed but not redirect a practitioner's alerts.
Administering a calendar implies seeing it.

The claims reach us in several shapes. API Gateway's HTTP API JWT authorizer hands them to
Lambda as strings and flattens an array into ``"[cal-a cal-b]"``; AppSync hands the OIDC
token's claims over as JSON, so an array stays a list; a directly invoked function (tests,
``sam local``) may get either. All are read the same way, and an item that carries a separator
(whitespace, a comma, a bracket or a quote) grants nothing: ``["cal-attacker cal-dr-weber"]`` is
one odd name, not two calendars. In API Gateway's flattened form the element boundaries are
already gone, which is why the identity provider must never put such a name in a token (see
docs/settings-api.md, "Who may do what").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_CALENDARS_CLAIM = "calendars"
DEFAULT_VIEW_CALENDARS_CLAIM = "calendars_view"

_SEPARATORS = re.compile(r"[\s,]+")
# What a calendar id in a claim may not contain: the separators of every form read here.
_NOT_IN_AN_ID = re.compile(r"[\s,\[\]\"]")


@dataclass(frozen=True)
class ClaimNames:
    """The names of the two claims, from the function's environment."""

    administer: str = DEFAULT_CALENDARS_CLAIM
    view: str = DEFAULT_VIEW_CALENDARS_CLAIM


@dataclass(frozen=True)
class Caller:
    subject: str | None
    administered: frozenset[str]
    viewed: frozenset[str] = frozenset()

    def administers(self, calendar_id: str) -> bool:
        return calendar_id in self.administered

    def sees(self, calendar_id: str) -> bool:
        return calendar_id in self.administered or calendar_id in self.viewed

    @property
    def calendars_seen(self) -> frozenset[str]:
        return self.administered | self.viewed


def calendars_in_claim(value: object) -> frozenset[str]:
    """The calendar ids a claim lists, in any of the shapes described in the module docstring."""
    if isinstance(value, list | tuple):
        items = [item for item in value if isinstance(item, str)]
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
    return frozenset(
        cleaned for item in items if (cleaned := item.strip()) and not _NOT_IN_AN_ID.search(cleaned)
    )


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


def caller_from_claims(claims: Mapping[str, Any], names: ClaimNames) -> Caller:
    subject = claims.get("sub")
    return Caller(
        subject=str(subject) if subject is not None else None,
        administered=calendars_in_claim(claims.get(names.administer)),
        viewed=calendars_in_claim(claims.get(names.view)),
    )


def caller_from_http_api(event: Mapping[str, Any], names: ClaimNames) -> Caller | None:
    """The caller of an HTTP API (payload 2.0) request, or None when it carries no JWT claims."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    if not isinstance(claims, Mapping) or not claims:
        return None
    return caller_from_claims(claims, names)


def caller_from_appsync_identity(identity: object, names: ClaimNames) -> Caller | None:
    """The caller of an AppSync Events request authorised by OpenID Connect (``identity`` has
    ``sub``, ``issuer`` and ``claims``), or None for any other kind of caller (IAM, API key)."""
    if not isinstance(identity, Mapping):
        return None
    claims = identity.get("claims")
    if not isinstance(claims, Mapping) or not claims:
        return None
    return caller_from_claims(claims, names)
