"""Proving that a contact is the practitioner's: a one-time code sent to it, typed back in.

A typo in a mobile number or an e-mail address would otherwise send patient names to whoever
owns it. So a newly entered contact is *pending*: it gets nothing but a code, and alerts go to it
only once someone signed in as the calendar's administrator types that code back.

Codes are six random digits, kept only as a salted hash bound to the calendar, the channel and
the exact contact, so a code sent to one number can never prove another. They live 15 minutes
and take 5 attempts. Anyone who could read the stored hash could also write the settings table,
so a fast hash is enough: the lifetime and the attempt count are what bound guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from practitioner_alerts.domain.settings import ContactChannel

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=15)
MAX_ATTEMPTS = 5
# A new code for the same channel no sooner than this after the last one: a page's "send again"
# button pressed twice, or a script, cannot flood a stranger's phone.
RESEND_SPACING = timedelta(seconds=60)

_TYPED_CODE = re.compile(rf"\d{{{CODE_DIGITS}}}")
# People type codes with spaces or a hyphen in the middle, as they read them.
_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True)
class PendingCode:
    """What is stored while a contact waits for its code: never the code itself."""

    code_hash: str
    salt: str
    sent_at: int  # epoch seconds
    expires_at: int
    attempts_left: int = MAX_ATTEMPTS

    def expired(self, now: datetime) -> bool:
        return now.timestamp() >= self.expires_at

    def resend_after(self) -> int:
        return self.sent_at + int(RESEND_SPACING.total_seconds())


def code_hash(*, salt: str, calendar_id: str, channel: ContactChannel, contact: str, code: str) -> str:
    material = "\x1f".join((salt, calendar_id, channel, contact, code))
    return hashlib.sha256(material.encode()).hexdigest()


def issue(
    *, calendar_id: str, channel: ContactChannel, contact: str, code: str, salt: str, now: datetime
) -> PendingCode:
    sent_at = int(now.timestamp())
    return PendingCode(
        code_hash=code_hash(salt=salt, calendar_id=calendar_id, channel=channel, contact=contact, code=code),
        salt=salt,
        sent_at=sent_at,
        expires_at=sent_at + int(CODE_LIFETIME.total_seconds()),
    )


def typed_code(raw: str) -> str | None:
    """The six digits someone typed ("123 456", "123-456"), or None when it is not a code."""
    code = _SEPARATORS.sub("", raw)
    return code if _TYPED_CODE.fullmatch(code) else None


def matches(
    pending: PendingCode, *, calendar_id: str, channel: ContactChannel, contact: str, code: str
) -> bool:
    candidate = code_hash(
        salt=pending.salt, calendar_id=calendar_id, channel=channel, contact=contact, code=code
    )
    return hmac.compare_digest(candidate, pending.code_hash)
