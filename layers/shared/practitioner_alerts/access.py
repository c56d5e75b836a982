"""Who may touch which calendar: one rule for the settings API and the real-time subscriptions.

A token lists calendars at two levels. The administer claim (``CALENDARS_CLAIM``, default
``calendars``) keeps the meaning it always had, so tokens issued before the second level existed
work unchanged: the practitioner who may change where alerts go. The view claim
(``VIEW_CALENDARS_CLAIM``, default ``calendars_view``) lists calendars its holder may only *see*:
the front desk, who should get the pop-ups and the feed but not redirect a practitioner's alerts.
Administering a calendar implies seeing it.

The claims reach us in the forms the two services really produce, and only those are read:

* AppSync hands the OIDC token's claims over as JSON, so an array claim stays a **list**;
* API Gateway's HTTP API JWT authorizer hands every claim to Lambda as a string: an array claim
  becomes ``"[cal-a cal-b]"`` (its items joined by single spaces, in brackets), a string claim
  stays **one id**.

Every item must be a calendar id by the one rule of the appointments contract
(:func:`~practitioner_alerts.domain.appointments.is_calendar_id`: 1-128 printable ASCII
characters, no space, no '#'), and a claim holding anything else grants **nothing**. So
``["cal-attacker cal-dr-weber"]`` (one item with a space) grants no calendar at all, and since no
calendar can have such an id (the contract and the API path refuse it), an identity provider
that writes the ids of real calendars never writes one. Comma-separated strings and JSON arrays
inside a string are not forms either service produces; they are read as one (odd) id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from practitioner_alerts.domain.appointments import is_calendar_id

DEFAULT_CALENDARS_CLAIM = "calendars"
DEFAULT_VIEW_CALENDARS_CLAIM = "calendars_view"


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
    """The calendar ids a claim lists, in the forms of the module docstring; nothing at all when
    the claim holds anything but calendar ids."""
    items: list[object]
    if isinstance(value, list | tuple):
        items = list(value)
    elif isinstance(value, str):
        # API Gateway's flattened array. A string claim that happens to look like one (an id
        # starting with "[" and ending with "]") cannot be told apart from it, and is read so.
        items = list(value[1:-1].split(" ")) if value.startswith("[") and value.endswith("]") else [value]
    else:
        return frozenset()
    if not items or not all(is_calendar_id(item) for item in items):
        return frozenset()
    return frozenset(str(item) for item in items)


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
