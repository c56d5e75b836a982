"""``import-settings``: an operator's bulk import of calendar settings, on AWS or a local stack.

A platform that moves thousands of calendars over cannot have each practitioner re-enter a code.
With ``--mark-verified`` the operator vouches that every contact in the file is the
practitioner's (the platform sent it alerts before, say), and those contacts get alerts at once.
Without it, a contact stays proven only if it is the one already proven for that calendar; any
other is pending, gets nothing until confirmed, and its owner asks for a code on the settings
page. The file is the ``--calendars`` format: a JSON list of calendar settings, validated exactly
as the settings API validates them, all of it before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from practitioner_alerts.adapters.dynamodb import CalendarSettingsTable
from practitioner_alerts.domain.settings import CalendarSettings


@dataclass(frozen=True)
class Imported:
    calendars: int
    verified: int  # contacts
    pending: int

    def summary(self, *, dry_run: bool) -> str:
        verb = "would import" if dry_run else "imported"
        return (
            f"{verb} {self.calendars} calendar(s): {self.verified} contact(s) verified, "
            f"{self.pending} pending (no alerts until their owner confirms a code)\n"
        )


def import_settings(
    table: CalendarSettingsTable,
    calendars: Sequence[CalendarSettings],
    *,
    mark_verified: bool,
    dry_run: bool = False,
) -> Imported:
    verified = pending = 0
    for entered in calendars:
        if mark_verified:
            settings = entered.with_contacts_verified()
        else:
            settings = entered.keeping_proof_of(table.read(entered.calendar_id).settings)
        verified += len(settings.channels)
        pending += len(settings.pending_channels)
        if not dry_run:
            table.put(settings)
    return Imported(len(calendars), verified, pending)
