"""The settings API: a calendar's alert settings, a test send, and the in-calendar alerts feed."""

from practitioner_alerts.settings_api.routes import SettingsApi, build_resolver, openapi_json
from practitioner_alerts.settings_api.service import SettingsService

__all__ = ["SettingsApi", "SettingsService", "build_resolver", "openapi_json"]
