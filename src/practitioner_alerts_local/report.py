"""The readable report of a run: decisions, what SNS/SES accepted, dead letters.

This is developer output, like a mail catcher: it shows recipients and message text. Lambda logs
never do; they stay in the functions' log sink.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from practitioner_alerts_local.observe import SentMessage
from practitioner_alerts_local.runtime import RunReport

RULE = "-" * 78


def format_decision(decision: Mapping[str, Any]) -> str:
    verdict = "ALERT " if decision.get("alert") else "silent"
    return (
        f"{verdict}  {decision.get('appointment_id') or '?':<10} {decision.get('change') or '?':<12} "
        f"{decision.get('reason') or '?':<26} event {str(decision.get('event_id') or '?')[:12]}"
    )


def format_sent(message: SentMessage) -> str:
    label = "SMS" if message.channel == "sms" else "E-mail"
    lines = [f"{label} to {message.to}  [{message.appointment_id or 'unattributed'}]"]
    if message.subject is not None:
        lines.append(f"  Subject: {message.subject}")
    body = message.text.rstrip()
    lines.extend("  | " + line for line in body.splitlines() or [""])
    if message.html is not None:
        lines.append(f"  (+ HTML part, {len(message.html)} characters)")
    return "\n".join(lines)


def format_feed_entry(entry: Mapping[str, Any]) -> str:
    return f"{entry.get('calendar_id')}  [{entry.get('appointment_id')}]  {entry.get('headline')}"


def format_dead_letter(entry: Mapping[str, Any]) -> str:
    head = f"{entry.get('source')}: {entry.get('reason')}  [{entry.get('queue')}]"
    info = entry.get("batch_info")
    if isinstance(info, Mapping):
        head += (
            f"\n  records {info.get('startSequenceNumber')}..{info.get('endSequenceNumber')}"
            f" ({info.get('batchSize')}), invoked {entry.get('approximate_invoke_count')}x,"
            f" function error {entry.get('function_error') or 'none'}"
        )
    payload = entry.get("payload")
    if isinstance(payload, Mapping):
        identity = _payload_identity(payload)
        if identity:
            head += f"\n  {identity}"
    return head


def _payload_identity(payload: Mapping[str, Any]) -> str:
    """Which record or message a dead letter was, without dumping its (personal) content."""
    if "eventID" in payload:
        keys = json.dumps((payload.get("dynamodb") or {}).get("Keys"), sort_keys=True)
        return f"stream record {payload.get('eventName')} {keys} (event {payload.get('eventID')})"
    if "messageId" in payload:
        return f"queue message {payload.get('messageId')}"
    if "notification_id" in payload:
        alert = payload.get("alert") or {}
        return f"notification {payload.get('channel')} for {alert.get('appointment_id')}"
    return ""


def format_report(
    report: RunReport, *, title: str | None = "Practitioner Alerts - local run", decisions: bool = True
) -> str:
    """The whole run; ``title=None`` when the caller printed its own, ``decisions=False`` when it
    listed them already (the demo shows each under its change)."""
    sections = [title, "=" * len(title), ""] if title else []
    if decisions:
        sections.append(
            _section("Decisions (from the detector's log)", [format_decision(d) for d in report.decisions])
        )
    sections.append(_section("Sent (accepted by emulated SNS / SES)", [format_sent(m) for m in report.sent]))
    sections.append(
        _section("In-calendar feed (AlertsFeedTable)", [format_feed_entry(e) for e in report.feed])
    )
    sections.append(_section("Dead letters", [format_dead_letter(e) for e in report.dead_letters]))
    return "\n".join(sections).rstrip() + "\n"


def _section(title: str, items: Sequence[str]) -> str:
    body = "\n".join(items) if items else "(none)"
    return f"{title}\n{RULE}\n{body}\n"


def format_steps(steps: Iterable[tuple[str, Sequence[Mapping[str, Any]]]]) -> str:
    """The demo's per-change view: what the booking platform did, then what the detector decided."""
    lines = ["Changes and decisions", RULE]
    for description, decisions in steps:
        lines.append(textwrap.fill(description, width=78, subsequent_indent="    "))
        if not decisions:
            lines.append("    -> no decision logged (parked or filtered; see dead letters)")
        for decision in decisions:
            lines.append("    -> " + format_decision(decision))
    return "\n".join(lines) + "\n"
