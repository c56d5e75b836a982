"""``import-settings``: an operator's bulk import, verified only when the operator says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from practitioner_alerts.adapters.dynamodb import CalendarSettingsTable
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.cli import main
from practitioner_alerts_local.import_settings import import_settings
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.stack import AwsClients, LocalStack
from tests.local.test_serve import free_port

CALENDARS = [
    {"calendar_id": "cal-a", "alert_mobile": "+4915123456789", "alert_email": "a@example.com"},
    {"calendar_id": "cal-b", "alert_email": "b@example.com"},
]


def table_of(runtime: LocalRuntime) -> CalendarSettingsTable:
    return CalendarSettingsTable(runtime.clients("dynamodb"), runtime.stack.ref("CalendarSettingsTable"))


def test_marked_verified_every_contact_gets_alerts(runtime: LocalRuntime) -> None:
    table = table_of(runtime)
    calendars = [CalendarSettings.model_validate(c) for c in CALENDARS]
    imported = import_settings(table, calendars, mark_verified=True)
    assert (imported.calendars, imported.verified, imported.pending) == (2, 3, 0)
    stored = table.get("cal-a")
    assert stored is not None and stored.channels == ("sms", "email")


def test_unmarked_only_the_contacts_already_proven_stay_proven(runtime: LocalRuntime) -> None:
    table = table_of(runtime)
    table.put(CalendarSettings.model_validate(CALENDARS[0]).with_contacts_verified())
    moved = {**CALENDARS[0], "alert_email": "a.neu@example.com"}
    imported = import_settings(table, [CalendarSettings.model_validate(moved)], mark_verified=False)
    assert (imported.verified, imported.pending) == (1, 1)
    stored = table.get("cal-a")
    assert stored is not None and stored.channels == ("sms",) and stored.pending_channels == ("email",)


def test_the_cli_imports_into_a_running_local_stack(tmp_path: Path, capsys: Any) -> None:
    file = tmp_path / "calendars.json"
    file.write_text(json.dumps(CALENDARS), encoding="utf-8")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        stack = LocalStack.from_files(AwsClients("eu-central-1", endpoint))
        stack.create()
        table = CalendarSettingsTable(stack.clients("dynamodb"), stack.ref("CalendarSettingsTable"))

        assert main(["import-settings", str(file), "--endpoint-url", endpoint, "--dry-run"]) == 0
        assert "would import 2 calendar(s)" in capsys.readouterr().out
        assert table.get("cal-a") is None

        assert main(["import-settings", str(file), "--endpoint-url", endpoint]) == 0
        assert "imported 2 calendar(s): 0 contact(s) verified, 3 pending" in capsys.readouterr().out
        stored = table.get("cal-b")
        assert stored is not None and stored.pending_channels == ("email",)

        assert main(["import-settings", str(file), "--endpoint-url", endpoint, "--mark-verified"]) == 0
        assert "imported 2 calendar(s): 3 contact(s) verified, 0 pending" in capsys.readouterr().out
        stored = table.get("cal-b")
        assert stored is not None and stored.channels == ("email",)
    finally:
        server.stop()


def test_a_bad_file_writes_nothing_and_names_the_field(tmp_path: Path, capsys: Any) -> None:
    file = tmp_path / "calendars.json"
    file.write_text(json.dumps([CALENDARS[0], {"calendar_id": "cal-x", "alert_mobile": "030 1234567"}]))
    assert main(["import-settings", str(file), "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert "cal-x" in capsys.readouterr().err
