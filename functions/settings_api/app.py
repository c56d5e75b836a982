"""Settings API Lambda: behind the HTTP API's JWT authorizer.

Thin on purpose: Powertools does logging, tracing and metrics; the layer routes, validates,
checks the caller's calendars and answers.

Importing this module loads only Powertools' Logger and Metrics. The API itself (the event
handler and its OpenAPI models, pydantic, boto3, the validators) is imported by
``settings_api()`` at the first invocation, and the Tracer is built then too
(:mod:`practitioner_alerts.tracing`): a cold start does the same work, but the part that only an
invocation needs happens in it. Clients are still built once per execution environment.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from practitioner_alerts.tracing import LazyTracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from practitioner_alerts.settings_api import SettingsApi

logger = Logger()
tracer = LazyTracer()
metrics = Metrics()


@cache
def settings_api() -> SettingsApi:
    # Imported at the first invocation, not with the module: see the module docstring.
    from practitioner_alerts.config import SettingsApiConfig  # noqa: PLC0415
    from practitioner_alerts.settings_api.wiring import build_settings_api  # noqa: PLC0415

    return build_settings_api(SettingsApiConfig.from_environment())


# Requests and responses carry e-mail addresses and phone numbers: log_event stays off (the
# default), and the tracer must not copy the response into X-Ray metadata (its default).
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return settings_api().handle(event, context)
