"""The OpenAPI document: served without a token, a valid OpenAPI 3.1 description, and about the
same routes as the template and the local API Gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from practitioner_alerts_local.api.gateway import ROUTES
from practitioner_alerts_local.template import load_template
from tests.api.conftest import ApiClient

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def template_routes() -> set[str]:
    template = load_template(TEMPLATE)
    events = template["Resources"]["SettingsApiFunction"]["Properties"]["Events"]
    return {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events.values()}


def document(client: ApiClient) -> dict[str, Any]:
    reply = client.get("/openapi.json", token=None)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert isinstance(reply.body, dict)
    return reply.body


def test_the_document_is_served_without_a_token_and_is_valid(client: ApiClient) -> None:
    spec = document(client)
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "Practitioner Alerts settings API"


def test_the_document_describes_exactly_the_template_routes(client: ApiClient) -> None:
    spec = document(client)
    documented = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    assert documented | {"GET /openapi.json"} == template_routes()
    assert set(ROUTES) == template_routes()


def test_every_route_requires_the_bearer_token(client: ApiClient) -> None:
    spec = document(client)
    assert spec["components"]["securitySchemes"]["jwt"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for item in spec["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{"jwt": []}]
            assert {"401", "403", "422"} <= set(operation["responses"])


def test_errors_and_bodies_are_described_by_models(client: ApiClient) -> None:
    spec = document(client)
    schemas = spec["components"]["schemas"]
    assert {"AlertSettingsInput", "AlertSettingsView", "AlertsPage", "Problem", "TestAlertQueued"} <= set(
        schemas
    )
    put = spec["paths"]["/calendars/{calendar_id}/alert-settings"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AlertSettingsInput"
    }
    test = spec["paths"]["/calendars/{calendar_id}/alert-settings/test"]["post"]
    assert {"202", "409", "429"} <= set(test["responses"])
    listing = spec["paths"]["/calendars/{calendar_id}/alerts"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"calendar_id", "unread", "limit", "cursor"}
    assert "400" in listing["responses"]


def test_the_feed_page_describes_language_zone_and_channel(client: ApiClient) -> None:
    page = document(client)["components"]["schemas"]["AlertsPage"]
    assert {"alerts", "cursor", "locale", "time_zone", "channel"} <= set(page["required"])
    assert page["properties"]["channel"]["type"] == "string"
