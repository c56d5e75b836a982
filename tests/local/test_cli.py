"""The ``practitioner-alerts`` command: replay's JSON contract, exit codes, and the demo."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from practitioner_alerts_local.cli import main
from tests.conftest import EVENTS
from tests.local.conftest import PROJECT_ROOT

CLI = [sys.executable, "-m", "practitioner_alerts_local.cli"]
CONSOLE_SCRIPT = Path(sys.executable).with_name("practitioner-alerts")  # what pyproject.toml installs


def run_cli(*args: str, command: list[str] = CLI) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT, check=False
    )


def replay_in_process(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["replay", *args], out=out)
    return code, out.getvalue()


def test_replay_json_prints_exactly_one_document_with_decisions_sent_and_dead_letters() -> None:
    result = run_cli(
        "replay",
        "--json",
        str(EVENTS / "stream-online-booking.json"),
        str(EVENTS / "stream-late-cancellation.json"),
        command=[str(CONSOLE_SCRIPT)],
    )

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # fails on log lines or a second document
    assert set(document) == {"decisions", "sent", "dead_letters"}
    assert [d["reason"] for d in document["decisions"]] == ["online_booking", "late_cancellation"]
    for decision in document["decisions"]:
        assert set(decision) == {"event_id", "appointment_id", "change", "alert", "reason"}
    channels = [(m["channel"], m["appointment_id"]) for m in document["sent"]]
    assert channels == [("sms", "apt-1001"), ("email", "apt-1001")] * 2
    email: dict[str, Any] = document["sent"][1]
    assert set(email) == {"channel", "to", "appointment_id", "text", "subject", "html"}
    assert set(document["sent"][0]) == {"channel", "to", "appointment_id", "text"}
    assert document["dead_letters"] == []


def naive_start_time(tmp_path: Path) -> Path:
    event = json.loads((EVENTS / "stream-online-booking.json").read_text("utf-8"))
    event["Records"][0]["dynamodb"]["NewImage"]["starts_at"]["S"] = "2027-09-09T12:00:00"
    return _write(tmp_path / "broken.json", json.dumps(event))


def test_replay_exits_1_when_a_record_was_dead_lettered_and_says_how_many(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = naive_start_time(tmp_path)

    code, stdout = replay_in_process("--json", str(broken), str(EVENTS / "stream-online-booking.json"))

    assert code == 1  # a platform's CI running replay over its sample writes fails here
    document = json.loads(stdout)  # still exactly one document on stdout
    assert [d["reason"] for d in document["decisions"]] == ["online_booking"]
    (parked,) = document["dead_letters"]
    assert parked["source"] == "detector" and "starts_at" in parked["reason"]
    (line,) = capsys.readouterr().err.splitlines()
    assert "1 dead letter" in line and "--allow-dead-letters" in line


def test_replay_with_allow_dead_letters_reports_them_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout = replay_in_process("--allow-dead-letters", str(naive_start_time(tmp_path)))

    assert code == 0
    assert "Dead letters" in stdout and "NewImage.starts_at" in stdout
    assert capsys.readouterr().err == ""


def test_replay_of_the_same_file_twice_is_a_redelivery_that_sends_nothing_new() -> None:
    booking = str(EVENTS / "stream-online-booking.json")

    code, stdout = replay_in_process("--json", booking, booking)

    assert code == 0
    document = json.loads(stdout)
    assert len(document["decisions"]) == 2  # the detector saw it twice ...
    assert [m["channel"] for m in document["sent"]] == ["sms", "email"]  # ... the practitioner once


def test_replay_without_json_prints_a_readable_report() -> None:
    code, stdout = replay_in_process(str(EVENTS / "stream-late-cancellation.json"))

    assert code == 0
    assert "late_cancellation" in stdout and "SMS to +4915123456789  [apt-1001]" in stdout
    assert "Kurzfristige Absage" in stdout


@pytest.mark.parametrize(
    ("make_file", "expected"),
    [
        (lambda d: d / "missing.json", "no such file"),
        (lambda d: _write(d / "text.json", "not json at all"), "not JSON"),
        (lambda d: _write(d / "object.json", '{"hello": 1}'), 'no "Records" list'),
        (lambda d: EVENTS / "queue-sms.json", "Records[0] is not a DynamoDB stream record"),
    ],
)
def test_replay_refuses_unusable_event_files_with_exit_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_file: Any, expected: str
) -> None:
    path = make_file(tmp_path)

    code, stdout = replay_in_process("--json", str(EVENTS / "stream-online-booking.json"), str(path))

    assert code == 2
    assert stdout == ""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and str(path) in lines[0]


def test_replay_refuses_invalid_calendars_naming_the_calendar_and_the_field(tmp_path: Path) -> None:
    calendars = _write(
        tmp_path / "calendars.json",
        json.dumps(
            [
                {"calendar_id": "cal-dr-weber"},
                {"calendar_id": "cal-dr-fixed", "alert_mobile": "+49 30 1234567"},
            ]
        ),
    )

    result = run_cli(
        "replay", "--json", "--calendars", str(calendars), str(EVENTS / "stream-online-booking.json")
    )

    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "'cal-dr-fixed'" in line and "alert_mobile" in line and "not a mobile number" in line


def test_redrive_against_an_endpoint_nobody_answers_at_says_so_in_one_line() -> None:
    result = run_cli("redrive", "--dry-run", "--endpoint-url", "http://127.0.0.1:9")

    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "nothing answers at http://127.0.0.1:9" in line and "serve" in line and "--endpoint-url" in line


def test_redrive_without_aws_credentials_says_how_to_sign_in_in_one_line(tmp_path: Path) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") or key == "AWS_DEFAULT_REGION"
    }
    nowhere = str(tmp_path / "none")
    environment |= {
        "AWS_CONFIG_FILE": nowhere,
        "AWS_SHARED_CREDENTIALS_FILE": nowhere,
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance role to find either
    }
    result = subprocess.run(
        [*CLI, "redrive", "--dry-run", "--stack-name", "practitioner-alerts-dev"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
        env=environment,
        check=False,
    )

    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "no AWS credentials found" in line and "aws sso login" in line


def test_demo_prints_its_title_first_and_each_decision_once() -> None:
    out = io.StringIO()

    assert main(["demo"], out=out) == 0

    lines = out.getvalue().splitlines()
    assert lines[0] == "Demo: a day of appointment changes"
    decisions = [line for line in lines if "event " in line and ("ALERT" in line or "silent" in line)]
    event_ids = [line.rsplit("event ", 1)[1] for line in decisions]
    assert len(event_ids) == 10 and len(set(event_ids)) == 10


def test_demo_prints_the_days_decisions_and_what_went_out() -> None:
    # How long it takes is a benchmark figure (`make bench`: demo_s), not a test's pass mark.
    out = io.StringIO()

    code = main(["demo"], out=out)

    report = out.getvalue()
    assert code == 0
    for expected in (
        "late_cancellation",
        "early_reschedule",
        "changed_by_practice",
        "ttl_expiry",
        "late_reschedule",
        "E-mail to hughes.surgery@hotmail.co.uk",
        "detector: NewImage.starts_at",
        "cal-dr-rossi  [apt-5001]",  # no contact: the in-calendar feed is all Dr. Rossi gets
        "http://127.0.0.1:8085/calendar/cal-dr-weber",  # where serve shows the pop-ups
    ):
        assert expected in report, expected


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path
