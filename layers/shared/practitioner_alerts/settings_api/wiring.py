"""Builds the settings API from its configuration; clients are made once per environment."""

from __future__ import annotations

from practitioner_alerts.adapters.dynamodb import AlertsFeedTable, CalendarSettingsTable, DeliveryLogTable
from practitioner_alerts.adapters.sqs import NotificationQueue
from practitioner_alerts.config import SettingsApiConfig
from practitioner_alerts.settings_api.routes import SettingsApi
from practitioner_alerts.settings_api.service import SettingsService
from practitioner_alerts.wiring import client


def build_settings_api(config: SettingsApiConfig) -> SettingsApi:
    dynamodb = client("dynamodb")
    return SettingsApi(
        service=SettingsService(
            settings=CalendarSettingsTable(dynamodb, config.settings_table_name),
            feed=AlertsFeedTable(dynamodb, config.alerts_feed_table_name),
            queue=NotificationQueue(client("sqs"), config.notification_queue_url),
            test_alerts_per_hour=config.test_alerts_per_hour,
            delivery_log=DeliveryLogTable(dynamodb, config.delivery_log_table_name),
            codes_per_hour=config.verification_codes_per_hour,
            sends_per_subject_per_hour=config.sends_per_subject_per_hour,
            sms_countries=config.sms_countries,
        ),
        calendars_claim=config.calendars_claim,
        view_calendars_claim=config.view_calendars_claim,
    )
