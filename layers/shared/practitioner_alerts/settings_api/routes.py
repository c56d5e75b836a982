"""The HTTP API: Powertools routes over :class:`SettingsService`, plus access control and logging.

Access is decided before Powertools routes or validates anything, so a caller asking about
another calendar learns nothing (not even which fields are wrong) and nothing is read or
written. Each route checks again with the id Powertools extracted, in case the two ever differ.
"""

# No ``from __future__ import annotations``: Powertools reads the route functions' annotations
# at runtime to validate requests and build the OpenAPI document.

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from practitioner_alerts.access import (
    DEFAULT_CALENDARS_CLAIM,
    DEFAULT_VIEW_CALENDARS_CLAIM,
    Caller,
    ClaimNames,
    caller_from_http_api,
)
from practitioner_alerts.domain.appointments import ID_RULE, MAX_ID_LENGTH, is_calendar_id
from practitioner_alerts.errors import AlertError
from practitioner_alerts.settings_api.models import (
    AlertRead,
    AlertSettingsInput,
    AlertSettingsView,
    AlertsPage,
    CodeConfirmation,
    CodeRequest,
    CodeSent,
    FieldProblem,
    Problem,
    TestAlertQueued,
    Unauthorized,
)
from practitioner_alerts.settings_api.service import ApiProblem, SettingsReply, SettingsService

logger = Logger(child=True)
metrics = Metrics()

OPENAPI_PATH = "/openapi.json"
API_TITLE = "Practitioner Alerts settings API"
API_VERSION = "1.0.0"
JSON = "application/json"

# Calendar ids follow the appointments contract's one rule (domain.appointments.is_calendar_id):
# 1-128 printable ASCII characters without spaces or "#" ("#" because the settings table keys
# per-calendar counters as "<calendar_id>#..."). The pattern documents it; _calendar() checks the
# decoded id, since a percent-encoded path passes the pattern.
CalendarId = Annotated[str, Path(min_length=1, max_length=3 * MAX_ID_LENGTH, pattern=r"^[!-~]+$")]
AlertId = Annotated[str, Path(min_length=1, max_length=200)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="if-match",
        max_length=1024,
        description="The ETag of the settings this change was made on; a newer revision answers 412",
    ),
]
# Contacts are personal data: no browser, proxy or CDN may keep a copy.
NO_STORE = {"Cache-Control": "no-store"}


def _settings_response(status: int, reply: SettingsReply) -> Response[AlertSettingsView]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=reply.view,
        headers={"ETag": f'"{reply.revision}"', **NO_STORE},
    )


def _subject(app: APIGatewayHttpResolver) -> str | None:
    caller = app.context.get("caller")
    return caller.subject if isinstance(caller, Caller) else None


def _problem_content(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"model": Problem}}}


_DENIED: dict[int, Any] = {
    401: {"description": "No valid token", "content": {JSON: {"model": Unauthorized}}},
    403: _problem_content("The token does not list this calendar, or only as one to see"),
    415: _problem_content("The body is not JSON (Content-Type application/json)"),
    422: _problem_content("Invalid request; one message per field"),
    503: _problem_content("A backing service is unavailable; retry"),
}


def _responses(success: int, description: str, errors: Mapping[int, str] | None = None) -> dict[int, Any]:
    codes: dict[int, Any] = {success: {"description": description}, **_DENIED}
    codes.update({code: _problem_content(text) for code, text in (errors or {}).items()})
    return codes


def _problem(status: int, problem: Problem, headers: Mapping[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status, content_type=JSON, body=problem.model_dump_json(), headers=dict(headers or {})
    )


NOT_AN_ADMINISTRATOR = "You do not administer this calendar."
NOT_A_VIEWER = "You may not see this calendar's alerts."


def _calendar(app: APIGatewayHttpResolver, calendar_id: str, *, administer: bool) -> str:
    """The calendar id, decoded, once the caller is known to administer it (settings, test
    sends) or to see it (the feed)."""
    calendar_id = unquote(calendar_id)
    if not is_calendar_id(calendar_id):
        problem = FieldProblem(field="calendar_id", message=f"calendar_id: must be {ID_RULE} other than '#'")
        raise ApiProblem(422, "invalid_request", "The request is not valid.", [problem])
    caller = app.context.get("caller")
    if not isinstance(caller, Caller):
        raise ApiProblem(403, "forbidden", NOT_AN_ADMINISTRATOR if administer else NOT_A_VIEWER)
    if administer and not caller.administers(calendar_id):
        raise ApiProblem(403, "forbidden", NOT_AN_ADMINISTRATOR)
    if not caller.sees(calendar_id):
        raise ApiProblem(403, "forbidden", NOT_A_VIEWER)
    return calendar_id


def build_resolver(service: SettingsService) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.get(
        "/calendars/<calendar_id>/alert-settings",
        summary="A calendar's alert contacts, language and time zone",
        responses=_responses(200, "The settings, or the defaults when none are saved"),
        security=[{"jwt": []}],
    )
    def get_alert_settings(calendar_id: CalendarId) -> Response[AlertSettingsView]:
        return _settings_response(200, service.read_settings(_calendar(app, calendar_id, administer=True)))

    @app.put(
        "/calendars/<calendar_id>/alert-settings",
        summary="Replace a calendar's alert settings; an empty contact switches its channel off, a new "
        "one is pending until the code sent to it is confirmed",
        responses=_responses(
            200,
            "Saved; warnings may advise on the contacts",
            {412: "If-Match named an older revision: nothing was saved; load the settings again"},
        ),
        security=[{"jwt": []}],
    )
    def put_alert_settings(
        calendar_id: CalendarId, settings: AlertSettingsInput, if_match: IfMatch = None
    ) -> Response[AlertSettingsView]:
        calendar_id = _calendar(app, calendar_id, administer=True)
        reply = service.replace_settings(calendar_id, settings, if_match=if_match, subject=_subject(app))
        return _settings_response(200, reply)

    @app.patch(
        "/calendars/<calendar_id>/alert-settings",
        summary="Change some of a calendar's alert settings (JSON Merge Patch): members sent change, null "
        "switches off or back to the default, members left out stay",
        responses=_responses(
            200,
            "Saved; warnings may advise on the contacts",
            {412: "If-Match named an older revision: nothing was saved; load the settings again"},
        ),
        security=[{"jwt": []}],
    )
    def patch_alert_settings(
        calendar_id: CalendarId, patch: AlertSettingsInput, if_match: IfMatch = None
    ) -> Response[AlertSettingsView]:
        calendar_id = _calendar(app, calendar_id, administer=True)
        reply = service.patch_settings(calendar_id, patch, if_match=if_match, subject=_subject(app))
        return _settings_response(200, reply)

    @app.post(
        "/calendars/<calendar_id>/alert-settings/verification",
        summary="Send a new one-time code to a contact that is pending verification",
        status_code=202,
        responses=_responses(
            202,
            "A code is on its way; it works for 15 minutes and 5 attempts",
            {
                409: "That contact is not saved, or is confirmed already",
                429: "A code went out moments ago, or the hour's codes for this calendar or for you "
                "are used up; see Retry-After",
            },
        ),
        security=[{"jwt": []}],
    )
    def request_code(calendar_id: CalendarId, request: CodeRequest) -> CodeSent:
        calendar_id = _calendar(app, calendar_id, administer=True)
        return service.request_code(calendar_id, request.channel, subject=_subject(app))

    @app.post(
        "/calendars/<calendar_id>/alert-settings/verification/confirm",
        summary="Confirm a contact with the one-time code sent to it; alerts go to it from then on",
        responses=_responses(
            200,
            "Confirmed: the settings, with the contact verified",
            {
                409: "No such contact, or the code expired, was used up or was replaced: request a new one",
                422: "Not the code that was sent (the message says how many attempts are left)",
            },
        ),
        security=[{"jwt": []}],
    )
    def confirm_code(calendar_id: CalendarId, confirmation: CodeConfirmation) -> Response[AlertSettingsView]:
        calendar_id = _calendar(app, calendar_id, administer=True)
        return _settings_response(
            200, service.confirm_code(calendar_id, confirmation.channel, confirmation.code)
        )

    @app.post(
        "/calendars/<calendar_id>/alert-settings/test",
        summary="Send a test SMS and e-mail to the configured contacts",
        status_code=202,
        responses=_responses(
            202,
            "Queued for delivery through the normal pipeline",
            {
                409: "No verified contact is configured",
                429: "Too many tests this hour, for this calendar or for you; see Retry-After",
            },
        ),
        security=[{"jwt": []}],
    )
    def send_test_alert(calendar_id: CalendarId) -> TestAlertQueued:
        return service.send_test(_calendar(app, calendar_id, administer=True), subject=_subject(app))

    @app.get(
        "/calendars/<calendar_id>/alerts",
        summary="Recent alerts of a calendar, newest first",
        responses=_responses(200, "One page of alerts", {400: "The cursor is not valid for this calendar"}),
        security=[{"jwt": []}],
    )
    def list_alerts(
        calendar_id: CalendarId,
        unread: Annotated[bool, Query(description="Only alerts not yet marked read")] = False,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=2048)] = None,
    ) -> AlertsPage:
        return service.list_alerts(
            _calendar(app, calendar_id, administer=False), unread_only=unread, limit=limit, cursor=cursor
        )

    @app.post(
        "/calendars/<calendar_id>/alerts/<alert_id>/read",
        summary="Mark one alert read",
        responses=_responses(200, "Marked read", {404: "No such alert in this calendar"}),
        security=[{"jwt": []}],
    )
    def mark_alert_read(calendar_id: CalendarId, alert_id: AlertId) -> AlertRead:
        return service.mark_read(_calendar(app, calendar_id, administer=False), unquote(alert_id))

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(status_code=200, content_type=JSON, body=openapi_json(app))

    @app.exception_handler(ApiProblem)  # type: ignore[untyped-decorator]
    def problem(error: ApiProblem) -> Response[str]:
        body = Problem(code=error.code, message=error.message, errors=error.errors)
        return _problem(error.status, body, error.headers)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(error: RequestValidationError) -> Response[str]:
        problems = [_request_problem(detail) for detail in error.errors()]
        body = Problem(code="invalid_request", message="The request is not valid.", errors=problems)
        return _problem(422, body)

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def unsupported_media_type(_error: RequestUnsupportedContentType) -> Response[str]:
        problem = FieldProblem(
            field="content-type",
            message=f"content-type: must be {JSON} (or {MERGE_PATCH} for PATCH), with a JSON body",
        )
        return _problem(
            415, Problem(code="unsupported_media_type", message="The request is not JSON.", errors=[problem])
        )

    # Powertools decodes a base64 body (API Gateway's form for non-text content) without
    # catching bytes that are not UTF-8; such a body is simply not JSON.
    @app.exception_handler(UnicodeDecodeError)  # type: ignore[untyped-decorator]
    def undecodable_body(_error: UnicodeDecodeError) -> Response[str]:
        problem = FieldProblem(field="body", message="body: is not UTF-8 encoded JSON")
        return _problem(
            422, Problem(code="invalid_request", message="The request is not valid.", errors=[problem])
        )

    @app.exception_handler(AlertError)  # type: ignore[untyped-decorator]
    def unavailable(error: AlertError) -> Response[str]:
        logger.warning("backing service failed", extra={"reason": error.reason})
        return _problem(503, Problem(code="unavailable", message="Please try again in a moment."))

    @app.not_found
    def not_found(_error: Exception) -> Response[str]:
        return _problem(404, Problem(code="not_found", message="No such route."))

    return app


def _request_problem(detail: Mapping[str, Any]) -> FieldProblem:
    # Powertools locates errors as ("body", "alert_email"), ("query", "limit"), ("path", ...).
    location = [str(part) for part in detail.get("loc", ())]
    if len(location) > 1 and location[0] in {"body", "query", "path", "header"}:
        location = location[1:]
    if all(part.isdigit() for part in location):  # ("body", 1): the body is not JSON at all
        location = ["body"]
    return FieldProblem.from_validation(".".join(location) or "body", detail)


def openapi_json(app: APIGatewayHttpResolver) -> str:
    # Imported here: Powertools' OpenAPI document models take 0.1-0.2 s to import, and only this
    # route (never a practitioner's request) needs them.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer  # noqa: PLC0415

    return app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        summary="Alert settings of the calendars a practitioner administers, and the in-calendar alerts feed "
        "of those one works in",
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT")},
    )


def _route_path(event: Mapping[str, Any]) -> str:
    """The path Powertools routes on: rawPath without a named stage's prefix."""
    raw_path = str(event.get("rawPath") or "")
    context = event.get("requestContext")
    stage = context.get("stage", "$default") if isinstance(context, Mapping) else "$default"
    if stage != "$default" and raw_path.startswith(f"/{stage}/"):
        return raw_path[len(stage) + 1 :]
    return raw_path


def _calendar_in(path: str) -> str | None:
    parts = path.split("/")
    # Decoded like the route functions decode it: both checks must see the same id.
    return unquote(parts[2]) if len(parts) > 2 and parts[1] == "calendars" and parts[2] else None


def _needs_administrator(path: str) -> bool:
    """Alert settings and test sends change where alerts go; the feed only shows them."""
    parts = path.split("/")
    return len(parts) > 3 and parts[3] == "alert-settings"


def _denial(caller: Caller, calendar_id: str, path: str) -> str | None:
    if _needs_administrator(path):
        return None if caller.administers(calendar_id) else NOT_AN_ADMINISTRATOR
    return None if caller.sees(calendar_id) else NOT_A_VIEWER


@dataclass
class SettingsApi:
    service: SettingsService
    calendars_claim: str = DEFAULT_CALENDARS_CLAIM
    view_calendars_claim: str = DEFAULT_VIEW_CALENDARS_CLAIM

    @cached_property
    def resolver(self) -> APIGatewayHttpResolver:
        return build_resolver(self.service)

    def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        path = _route_path(event)
        calendar_id = _calendar_in(path)
        caller = caller_from_http_api(event, ClaimNames(self.calendars_claim, self.view_calendars_claim))
        denial = _denial(caller, calendar_id, path) if caller and calendar_id is not None else None
        if path == OPENAPI_PATH:
            response = self.resolver.resolve(event, context)
        elif caller is None:
            response = _refusal(401, "unauthorized", "Sign in: this request carries no token claims.")
            response["headers"]["WWW-Authenticate"] = "Bearer"
        elif denial is not None:
            response = _refusal(403, "forbidden", denial)
        else:
            self.resolver.context["caller"] = caller  # cleared by resolve() when it returns
            response = self.resolver.resolve(_merge_patch_as_json(event), context)
        # Answers carry contacts, patient names in headlines, or say who may see what: no
        # browser, proxy or CDN keeps any of them.
        response.setdefault("headers", {})["Cache-Control"] = "no-store"
        _log_access(event, calendar_id, caller, int(response.get("statusCode", 0)))
        return response


MERGE_PATCH = "application/merge-patch+json"


def _merge_patch_as_json(event: dict[str, Any]) -> dict[str, Any]:
    """A JSON Merge Patch body is JSON; Powertools parses only bodies labelled application/json."""
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return event
    content_type = str(headers.get("content-type", ""))
    if not content_type.lower().startswith(MERGE_PATCH):
        return event
    return {**event, "headers": {**headers, "content-type": JSON + content_type[len(MERGE_PATCH) :]}}


def _refusal(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON},
        "body": Problem(code=code, message=message).model_dump_json(),
        "isBase64Encoded": False,
    }


def _log_access(
    event: Mapping[str, Any], calendar_id: str | None, caller: Caller | None, status: int
) -> None:
    # Route template, calendar, caller id and outcome only: never bodies, contacts or names.
    http = event.get("requestContext", {}).get("http", {})
    route = event.get("routeKey") or f"{http.get('method', '?')} {event.get('rawPath', '')}"
    outcome = (
        "ok"
        if status < 400
        else "denied"
        if status in {401, 403}
        else "rejected"
        if status < 500
        else "failed"
    )
    metrics.add_metric(name=f"Api{outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info(
        "api access",
        extra={
            "route": route,
            "calendar_id": calendar_id,
            "subject": caller.subject if caller else None,
            "status": status,
            "outcome": outcome,
        },
    )
