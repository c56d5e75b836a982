"""Settings API Lambda: behind the HTTP API's JWT authorizer.

Thin on purpose: Powertools does logging, tracing and metrics; the layer routes, validates,
checks the caller's calendars and answers.

In a Lambda execution environment (``AWS_LAMBDA_FUNCTION_NAME`` is set) the API is built, its
modules imported and its clients made, at INIT, when Lambda imports this module, as AWS advises:
INIT runs on a full vCPU, is billed like an invocation since August 2025, and is all that
SnapStart or provisioned concurrency can pre-warm. Imported anywhere else (tests, tools),
``settings_api()`` builds it on first use, from the environment of that moment.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths

from practitioner_alerts.config import SettingsApiConfig
from practitioner_alerts.settings_api.wiring import build_settings_api

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from practitioner_alerts.settings_api import SettingsApi

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def settings_api() -> SettingsApi:
    return build_settings_api(SettingsApiConfig.from_environment())


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    settings_api()  # INIT: see the module docstring


# Requests and responses carry e-mail addresses and phone numbers: log_event stays off (the
# default), and the tracer must not copy the response into X-Ray metadata (its default).
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return settings_api().handle(event, context)
