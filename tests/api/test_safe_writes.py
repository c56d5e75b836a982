"""Safe writes: ETag and If-Match (412 on a stale copy), PATCH with JSON Merge Patch, conditional
writes in DynamoDB, and answers no cache keeps."""

from __future__ import annotations

import pytest

from practitioner_alerts.adapters.dynamodb import StaleSettings
from practitioner_alerts.domain.settings import CalendarSettings
from tests.api.conftest import ApiClient, Stack

SETTINGS = "/calendars/cal-a/alert-settings"
CONTACTS = {"alert_email": "praxis@example.com", "alert_mobile": "0151 23456789", "locale": "en"}


def test_get_gives_an_etag_and_no_cache_keeps_the_answer(client: ApiClient, stack: Stack) -> None:
    first = client.get(SETTINGS)
    assert first.headers["etag"].startswith('"') and first.headers["cache-control"] == "no-store"
    client.put(SETTINGS, CONTACTS)
    assert client.get(SETTINGS).headers["etag"] != first.headers["etag"]
    # Every answer, the feed and errors included.
    assert client.get("/calendars/cal-a/alerts").headers["cache-control"] == "no-store"
    assert client.get("/calendars/cal-b/alert-settings").headers["cache-control"] == "no-store"


def test_two_editors_from_one_copy_cannot_both_win(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, CONTACTS)
    copy = client.get(SETTINGS).headers["etag"]

    first = client.put(SETTINGS, {**CONTACTS, "locale": "de"}, headers={"If-Match": copy})
    second = client.put(SETTINGS, {**CONTACTS, "locale": "fr"}, headers={"If-Match": copy})

    assert first.status == 200
    assert second.status == 412 and second.body["code"] == "stale_settings"
    assert second.headers["etag"] == first.headers["etag"]  # what to load to start again
    stored = stack.settings.get("cal-a")
    assert stored is not None and stored.locale == "de"


@pytest.mark.parametrize(("if_match", "status"), [("*", 200), ('W/"{}"', 412), ('"other", "{}"', 200)])
def test_if_match_forms(client: ApiClient, if_match: str, status: int) -> None:
    etag = client.get(SETTINGS).headers["etag"].strip('"')
    reply = client.put(SETTINGS, CONTACTS, headers={"If-Match": if_match.format(etag)})
    assert reply.status == status


def test_a_stale_put_stores_nothing_and_sends_no_code(client: ApiClient, stack: Stack) -> None:
    reply = client.put(SETTINGS, CONTACTS, headers={"If-Match": '"not-the-revision"'})
    assert reply.status == 412
    assert stack.settings_items() == [] and stack.queued() == []


def test_patch_changes_the_mobile_number_and_leaves_the_rest(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", {**CONTACTS, "practitioner_name": "Dr. Anna Weber"})

    patched = client.patch(
        SETTINGS, {"alert_mobile": "0151 98765432"}, headers={"Content-Type": "application/merge-patch+json"}
    )

    assert patched.status == 200
    assert patched.body["alert_mobile"] == "+4915198765432"
    assert patched.body["alert_email"] == "praxis@example.com"
    assert (patched.body["locale"], patched.body["practitioner_name"]) == ("en", "Dr. Anna Weber")
    assert patched.body["verification"] == {"sms": "pending", "email": "verified"}
    assert list(stack.codes()) == [("sms", "+4915198765432")]


def test_patch_with_null_switches_a_contact_off(client: ApiClient, stack: Stack) -> None:
    client.save_confirmed(stack, "cal-a", CONTACTS)
    patched = client.patch(SETTINGS, {"alert_email": None})
    assert patched.body["alert_email"] is None and patched.body["channels"] == ["sms", "in_app"]
    # null on a setting with a default brings the default back.
    assert client.patch(SETTINGS, {"locale": None}).body["locale"] == "de"


def test_an_empty_patch_changes_nothing(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, CONTACTS)
    before = client.get(SETTINGS)
    after = client.patch(SETTINGS, {})
    assert after.status == 200 and after.headers["etag"] == before.headers["etag"]


def test_a_bad_patch_names_its_field_and_keeps_what_was_saved(client: ApiClient, stack: Stack) -> None:
    client.put(SETTINGS, CONTACTS)
    reply = client.patch(SETTINGS, {"alert_mobile": "030 1234567", "unknown": 1})
    assert reply.status == 422
    stored = stack.settings.get("cal-a")
    assert stored is not None and stored.alert_mobile == "+4915123456789"


def test_a_stale_patch_is_refused(client: ApiClient) -> None:
    client.put(SETTINGS, CONTACTS)
    reply = client.patch(SETTINGS, {"locale": "fr"}, headers={"If-Match": '"old"'})
    assert reply.status == 412


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_a_body_that_is_not_json_gets_415_in_the_one_error_shape(
    client: ApiClient, stack: Stack, content_type: str
) -> None:
    reply = client.put(SETTINGS, CONTACTS, headers={"Content-Type": content_type})
    assert reply.status == 415
    assert reply.body["code"] == "unsupported_media_type"
    [error] = reply.body["errors"]
    assert error["field"] == "content-type" and error["message"].startswith("content-type: ")
    assert stack.settings_items() == []


def test_the_write_is_conditional_on_what_was_read(stack: Stack) -> None:
    table = stack.settings
    read = table.read("cal-a")
    table.put(CalendarSettings(calendar_id="cal-a", locale="fr"))  # someone else, meanwhile
    with pytest.raises(StaleSettings):
        table.replace(CalendarSettings(calendar_id="cal-a", locale="it"), read=read)
    fresh = table.read("cal-a")
    table.replace(CalendarSettings(calendar_id="cal-a", locale="it"), read=fresh)
    stored = table.get("cal-a")
    assert stored is not None and stored.locale == "it"
    with pytest.raises(StaleSettings):
        table.replace(CalendarSettings(calendar_id="cal-a", locale="en"), read=fresh)
