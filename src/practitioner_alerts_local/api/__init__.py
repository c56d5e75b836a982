"""The settings API locally: a JWT issuer standing in for the user pool, and API Gateway on loopback."""

from practitioner_alerts_local.api.gateway import (
    LocalApiServer,
    LocalSettingsApi,
    invoke_in_process,
    make_api_app,
    start_api_server,
    to_event,
)
from practitioner_alerts_local.api.tokens import (
    AUDIENCE,
    ISSUER,
    InvalidToken,
    LocalTokenIssuer,
    issue_token,
    main_token,
    verify,
)

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "InvalidToken",
    "LocalApiServer",
    "LocalSettingsApi",
    "LocalTokenIssuer",
    "invoke_in_process",
    "issue_token",
    "main_token",
    "make_api_app",
    "start_api_server",
    "to_event",
    "verify",
]
