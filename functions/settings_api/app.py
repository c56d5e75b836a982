"""Settings API Lambda: behind the HTTP API's JWT authorizer.

Thin on purpose: Powertools does logging, tracing and metrics; the layer routes, validates,
checks the caller's calendars and answers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from practitioner_alerts.config import SettingsApiConfig
from practitioner_alerts.settings_api import SettingsApi
from practitioner_alerts.settings_api.wiring import build_settings_api

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def settings_api() -> SettingsApi:
    return build_settings_api(SettingsApiConfig.from_environment())


# Requests and responses carry e-mail addresses and phone numbers: log_event stays off (the
# default), and the tracer must not copy the response into X-Ray metadata (its default).
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return settings_api().handle(event, context)
