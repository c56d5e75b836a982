"""Real-time push: which channel carries a calendar's alerts, and who may listen to it.

Pure: no AWS, no environment. The sender publishes to :func:`channel_for`, the feed API tells
the page the same channel, and the OnSubscribe handler admits a subscription only to the channel
of a calendar the caller sees (:func:`may_subscribe`), so the three can never disagree.
"""

from __future__ import annotations

import hashlib
import re

from practitioner_alerts.access import Caller

NAMESPACE = "alerts"
# AppSync documents this pattern for a namespace name, the first segment of a channel (API
# reference, ChannelNamespace.name: letters, digits and inner hyphens, 1-50 characters). The
# calendar's segment is held to the same rule: nothing AppSync could refuse ever names a channel.
_SEGMENT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?")
# Hashed segments start with this, and an id that does is always hashed too: a calendar called
# "h-<hex>" could otherwise take over the channel of the id whose hash that is.
_HASHED = "h-"


def channel_for(calendar_id: str) -> str:
    """``/alerts/<segment>``: the id itself when AppSync allows it as a segment, else a stable
    hash of it (``h-`` and 40 hex digits), so every calendar id has exactly one channel."""
    if _SEGMENT.fullmatch(calendar_id) and not calendar_id.startswith(_HASHED):
        return f"/{NAMESPACE}/{calendar_id}"
    digest = hashlib.sha256(calendar_id.encode("utf-8")).hexdigest()[:40]
    return f"/{NAMESPACE}/{_HASHED}{digest}"


def may_subscribe(caller: Caller | None, channel: str) -> bool:
    """Only the exact channel of a calendar the caller sees; never a wildcard or a prefix."""
    if caller is None or "*" in channel:
        return False
    return any(channel_for(calendar_id) == channel for calendar_id in caller.calendars_seen)
