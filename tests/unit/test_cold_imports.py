"""What a cold start loads: each check runs in a fresh interpreter, as Lambda starts one.

Importing a handler loads Powertools' Logger and Metrics and nothing heavy; building a function's
application loads what that function uses and not what only another one does. No timings here
(``benchmarks/imports.py`` measures them): only which modules are there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = [
    "functions.detector.app",
    "functions.sender.app",
    "functions.settings_api.app",
    "functions.delivery_events.app",
    "functions.realtime_subscribe.app",
]
# Loaded at the first invocation, if the function needs them at all.
HEAVY = [
    "boto3",
    # Powertools imports the botocore package itself (to tag its user agent), a few ms; not its client.
    "botocore.session",
    "botocore.client",
    "pydantic",
    "aws_xray_sdk.core",
    "jinja2",
    "babel",
    "phonenumbers",
    "email_validator",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.event_handler",
]
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def loaded_after(code: str, *, lambda_env: bool = False) -> set[str]:
    """Which of HEAVY a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {
        "PATH": "/usr/bin:/bin",
        **ENVIRONMENT,
        **({"AWS_LAMBDA_FUNCTION_NAME": "x", "LAMBDA_TASK_ROOT": "/tmp"} if lambda_env else {}),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("lambda_env", [False, True], ids=["local", "lambda"])
@pytest.mark.parametrize("module", HANDLERS)
def test_importing_a_handler_loads_nothing_heavy(module: str, lambda_env: bool) -> None:
    assert loaded_after(f"import {module}", lambda_env=lambda_env) == set()


def test_the_detector_does_not_load_the_senders_rendering_or_idempotency() -> None:
    loaded = loaded_after(
        "from datetime import timedelta\n"
        "from practitioner_alerts.config import DetectorConfig\n"
        "from practitioner_alerts.wiring import build_detector\n"
        "build_detector(DetectorConfig(settings_table_name='s', notification_queue_url='q',"
        " stream_dead_letter_queue_url='d', short_notice_window_hours=24, settings_cache_seconds=5,"
        " alerts_feed_enabled=True))"
    )
    assert "jinja2" not in loaded
    assert "babel" not in loaded
    assert "aws_lambda_powertools.utilities.idempotency" not in loaded


def test_the_sender_loads_jinja2_and_the_validators_only_when_it_needs_them() -> None:
    loaded = loaded_after(
        "from practitioner_alerts.config import SenderConfig\n"
        "from practitioner_alerts.wiring import build_sender\n"
        "build_sender(SenderConfig(idempotency_table_name='i', notification_dead_letter_queue_url='d',"
        " alerts_feed_table_name='f', sender_email='alerts@example.com', ses_configuration_set='c',"
        " sms_sender_id='Praxis', alert_feed_days=30, notification_queue_url='q',"
        " delivery_log_table_name='l', sms_per_calendar_per_hour=30, notification_max_receives=10,"
        " realtime_publish_url='https://example.appsync-api.eu-central-1.amazonaws.com/event',"
        " sms_allowed_countries='DE,AT', settings_table_name='s'))"
    )
    # Jinja2 with the first e-mail, phonenumbers with the first SMS (its country is checked).
    assert {"jinja2", "phonenumbers", "email_validator"}.isdisjoint(loaded)
    assert "aws_lambda_powertools.utilities.idempotency" in loaded


def test_the_on_subscribe_handler_loads_only_the_event_handler_it_routes_with() -> None:
    loaded = loaded_after(
        "import functions.realtime_subscribe.app as app, os\n"
        "os.environ.update(CALENDARS_CLAIM='calendars', VIEW_CALENDARS_CLAIM='calendars_view')\n"
        "app.subscriptions()"
    )
    assert "aws_lambda_powertools.event_handler" in loaded
    # It decides from the token's claims alone: no AWS client, no rendering, no validators.
    assert {"boto3", "botocore.client", "jinja2", "babel", "phonenumbers", "email_validator"}.isdisjoint(
        loaded
    )


def test_delivery_receipts_load_neither_the_validators_nor_the_renderers() -> None:
    loaded = loaded_after(
        "import functions.delivery_events.app as app, os\n"
        "os.environ['DELIVERY_LOG_TABLE_NAME'] = 'log'\n"
        "app.receipts()"
    )
    assert {"jinja2", "babel", "phonenumbers", "email_validator"}.isdisjoint(loaded)
    assert "aws_lambda_powertools.utilities.batch" not in loaded


def test_settings_are_still_validated_when_read() -> None:
    # The validators load on the first contact checked; a stored landline is still refused.
    loaded = loaded_after(
        "from practitioner_alerts.domain.settings import CalendarSettings\n"
        "import pydantic\n"
        "try:\n"
        "    CalendarSettings(calendar_id='c', alert_mobile='+49 30 1234567', alert_email='a@example.com')\n"
        "except pydantic.ValidationError as error:\n"
        "    assert 'landline' in str(error), error\n"
        "else:\n"
        "    raise AssertionError('a landline was accepted')"
    )
    assert {"phonenumbers", "email_validator"} <= loaded
