"""The settings page, as a practitioner uses it: the help article's form over the settings API."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, Page, Route, expect

from practitioner_alerts.adapters.dynamodb import DeliveryFailure, DeliveryLogTable
from tests.browser.conftest import (
    PROJECT_ROOT,
    PageWatch,
    Serve,
    screenshot,
    sign_in_with,
    wait_until,
)


def open_settings(page: Page, serve: Serve, calendar_id: str) -> None:
    # The calendar's own practitioner: codes and tests are limited per person and hour.
    sign_in_with(page, serve.token(calendar_id))
    page.goto(serve.calendar_url(calendar_id, "/settings"))
    page.locator("#settings-form, #notice").filter(visible=True).first.wait_for()
    assert page.locator("#notice").is_hidden(), page.locator("#notice").inner_text()


def save(page: Page) -> None:
    page.locator("#save").click()


def settings_cache_seconds() -> float:
    """How long the detector keeps a calendar's settings (template.yaml, SETTINGS_CACHE_SECONDS)."""
    found = re.search(r'SETTINGS_CACHE_SECONDS: "(\d+)"', (PROJECT_ROOT / "template.yaml").read_text())
    assert found, "template.yaml sets SETTINGS_CACHE_SECONDS"
    return float(found.group(1))


def channel(page: Page, name: str) -> Locator:
    return page.locator(f'#channels [data-channel="{name}"]')


def verification(page: Page, name: str) -> Locator:
    return page.locator(f'.verification[data-channel="{name}"]')


def confirm_code(page: Page, name: str, code: str) -> None:
    page.fill(f"#code-{name}", code)
    verification(page, name).locator(".confirm-code").click()


def assert_not_delivered(serve: Serve, calendar: str, appointment_id: str) -> None:
    """Once the booking is in the feed and nothing is left in the queue, an SMS or e-mail for
    it would have been accepted by now."""
    wait_until("the booking reaches the feed", lambda: serve.alert_of(calendar, appointment_id))
    wait_until("the sender has nothing left to send", lambda: serve.notifications_waiting() == 0)
    assert [m for m in serve.outbox()["sent"] if m["appointment_id"] == appointment_id] == []


def test_an_email_entered_alerts_once_its_code_is_confirmed_and_deleting_it_switches_it_off(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-email-switch"
    address = "praxis.switch@example.com"
    open_settings(page, serve, calendar)
    expect(channel(page, "email")).to_have_attribute("data-on", "false")
    expect(verification(page, "email")).to_be_hidden()

    page.fill("#alert_email", address)
    save(page)
    expect(page.locator("#save-status")).to_have_text("Gespeichert.")
    # Saved, but not on: the address is pending until its code comes back.
    expect(channel(page, "email")).to_have_text("E-Mail: wartet auf den Code")
    expect(channel(page, "email")).to_have_attribute("data-on", "false")
    expect(verification(page, "email").locator(".verification-state")).to_have_text("Noch nicht bestätigt")
    expect(verification(page, "email").locator(".verification-advice")).to_contain_text(
        "Geben Sie den Code aus der E-Mail ein"
    )
    code = serve.new_code_for(address)

    # Before the code is confirmed a booking reaches the feed, and no e-mail goes out for it;
    # nor does a test message.
    serve.book("apt-web-switch-0", calendar)
    assert_not_delivered(serve, calendar, "apt-web-switch-0")
    page.locator("#send-test").click()
    expect(page.locator("#test-status")).to_have_text(
        "Testnachrichten gehen nur an bestätigte Kontakte. Geben Sie zuerst den erhaltenen Code ein."
    )

    confirm_code(page, "email", code)
    expect(verification(page, "email").locator(".code-status")).to_have_text(
        "Bestätigt. E-Mail-Benachrichtigungen sind an."
    )
    expect(verification(page, "email").locator(".verification-state")).to_have_text("Bestätigt")
    expect(verification(page, "email").locator(".code-entry")).to_be_hidden()
    expect(channel(page, "email")).to_have_attribute("data-on", "true")
    expect(page.locator("#alert_email")).to_have_value(address)

    serve.book("apt-web-switch-1", calendar)
    emails = wait_until("the booking is e-mailed", lambda: serve.emails_for("apt-web-switch-1"))
    assert [m["to"] for m in emails] == [address]

    page.fill("#alert_email", "")
    save(page)
    expect(page.locator("#save-status")).to_have_text("Gespeichert.")
    expect(channel(page, "email")).to_have_attribute("data-on", "false")
    expect(verification(page, "email")).to_be_hidden()
    # The page says a change holds from the next alert on: the detector keeps no settings.
    expect(page.locator(".hint")).to_have_text("Änderungen gelten ab der nächsten Benachrichtigung.")
    assert settings_cache_seconds() == 0

    serve.book("apt-web-switch-2", calendar)
    assert_not_delivered(serve, calendar, "apt-web-switch-2")
    assert watch.errors == []


def test_a_mobile_number_is_switched_on_by_the_code_from_its_sms_and_send_again_says_when(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-sms-code"
    mobile = "+4915123456702"
    serve.api("PUT", "/alert-settings", calendar, {"locale": "en"})
    open_settings(page, serve, calendar)
    page.fill("#alert_mobile", "0151 2345 6702")
    save(page)
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(channel(page, "sms")).to_have_text("SMS: waiting for the code")
    expect(page.locator('label[for="code-sms"]')).to_have_text("Code from the SMS")
    first = serve.new_code_for(mobile)

    box = verification(page, "sms")
    again = box.locator(".resend-code")
    status = box.locator(".code-status")
    # The first code went out seconds ago: one code a minute per contact.
    again.click()
    expect(status).to_have_attribute("data-state", "too_many_codes")
    expect(status).to_have_text("Too many codes. Try again in 1 minute.")
    expect(again).to_be_disabled()
    # The button comes back when the API will accept again (Retry-After, at most a minute).
    expect(again).to_be_enabled(timeout=90_000)
    again.click()
    expect(status).to_have_attribute("data-state", "sent")
    expect(status).to_contain_text("A new code is on its way. It works until")
    second = serve.new_code_for(mobile, known=1)

    if second != first:  # one in a million, the new code is the old one
        # The first code stopped working when the second was sent.
        confirm_code(page, "sms", first)
        expect(box.locator(".field-error")).to_have_text("That is not the code we sent. 4 attempts left.")
        expect(channel(page, "sms")).to_have_attribute("data-on", "false")
    confirm_code(page, "sms", second)
    expect(status).to_have_text("Confirmed. SMS alerts are on.")
    expect(box.locator(".field-error")).to_have_count(0)
    expect(channel(page, "sms")).to_have_text("SMS: on")

    serve.book("apt-web-sms-code", calendar)
    texts = wait_until(
        "the booking reaches the mobile",
        lambda: [m for m in serve.outbox()["sent"] if m["appointment_id"] == "apt-web-sms-code"],
    )
    assert [(m["channel"], m["to"]) for m in texts] == [("sms", mobile)]
    assert watch.errors == []


def test_a_wrong_code_is_shown_next_to_the_code_field_in_the_pages_language(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-wrong-code"
    address = "cabinet.erreur@example.fr"
    serve.api("PUT", "/alert-settings", calendar, {"locale": "fr", "time_zone": "Europe/Paris"})
    open_settings(page, serve, calendar)
    page.fill("#alert_email", address)
    save(page)
    expect(page.locator("#save-status")).to_have_text("Enregistré.")
    code = serve.new_code_for(address)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    box = verification(page, "email")
    confirm_code(page, "email", wrong)
    error = box.locator(".field-error")
    expect(error).to_have_text("Ce n’est pas le code que nous avons envoyé. Encore 4 essais.")
    expect(page.locator("#code-email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#code-email")).to_have_attribute("aria-describedby", "code-email-error")
    expect(page.locator("#code-email")).to_have_value(wrong)  # what was typed stays, to be corrected
    expect(channel(page, "email")).to_have_attribute("data-on", "false")

    confirm_code(page, "email", "12ab")
    expect(error).to_have_text("Saisissez les 6 chiffres du message.")

    # The right code, typed as people copy it, with a space inside.
    confirm_code(page, "email", f"{code[:3]} {code[3:]}")
    expect(box.locator(".code-status")).to_have_text("Confirmé. Les alertes par e-mail sont activées.")
    expect(error).to_have_count(0)
    expect(channel(page, "email")).to_have_attribute("data-on", "true")
    assert watch.errors == []


def test_a_code_tried_too_often_is_used_up_and_a_contact_deleted_meanwhile_has_nothing_to_confirm(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-used-up"
    address = "praxis.used-up@example.com"
    mobile = "+4915123456704"
    serve.api("PUT", "/alert-settings", calendar, {"locale": "en", "alert_mobile": mobile})
    open_settings(page, serve, calendar)
    expect(verification(page, "sms")).to_have_attribute("data-state", "pending")
    page.fill("#alert_email", address)
    save(page)
    expect(page.locator("#save-status")).to_have_text("Saved.")
    code = serve.new_code_for(address)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    # Five attempts per code, each wrong one says how many are left.
    error = verification(page, "email").locator(".field-error")
    for left in ("4 attempts left.", "3 attempts left.", "2 attempts left.", "1 attempt left."):
        confirm_code(page, "email", wrong)
        expect(error).to_have_text(f"That is not the code we sent. {left}")
    confirm_code(page, "email", wrong)
    expect(error).to_have_text("That is not the code we sent. No attempts left: send the code again.")
    # Used up: not even the right code works now.
    confirm_code(page, "email", code)
    expect(error).to_have_text(
        "This code has expired, was tried too often, or a newer one was sent. "
        "Send the code again and enter the new one."
    )
    expect(channel(page, "email")).to_have_attribute("data-on", "false")

    # Behind the page's back the mobile number is deleted; its code then confirms nothing.
    sms_code = serve.new_code_for(mobile)
    status, _ = serve.api("PATCH", "/alert-settings", calendar, {"alert_mobile": None})
    assert status == 200
    confirm_code(page, "sms", sms_code)
    expect(page.locator('.field[data-field="alert_mobile"] .field-warning')).to_have_text(
        "There is nothing to confirm: this contact is already confirmed or no longer saved."
    )
    expect(page.locator("#alert_mobile")).to_have_value("")
    expect(verification(page, "sms")).to_be_hidden()
    expect(page.locator("#alert_email")).to_have_value(address)
    assert watch.errors == []


def test_a_change_made_on_a_stale_copy_is_refused_and_nothing_typed_is_lost(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-stale"
    serve.api("PUT", "/alert-settings", calendar, {"practitioner_name": "Dr. Lea Brandt", "locale": "en"})
    open_settings(page, serve, calendar)
    page.fill("#practitioner_name", "Dr. Lea Brandt-Okafor")
    page.check("#visit_motive_in_email")

    # Meanwhile a colleague changes the name and the time zone from another page.
    status, _ = serve.api(
        "PATCH",
        "/alert-settings",
        calendar,
        {"practitioner_name": "Dr. L. Brandt", "time_zone": "Europe/Vienna"},
    )
    assert status == 200
    save(page)
    expect(page.locator("#save-status")).to_have_text(
        "Not saved: someone else changed these settings in the meantime."
    )
    expect(page.locator("#conflict")).to_contain_text("Someone else changed these settings")
    # What was typed is still there; what the colleague saved is shown next to it.
    expect(page.locator("#practitioner_name")).to_have_value("Dr. Lea Brandt-Okafor")
    expect(page.locator("#visit_motive_in_email")).to_be_checked()
    expect(page.locator('.changed-elsewhere[data-field="practitioner_name"]')).to_have_text(
        "Changed by someone else to: Dr. L. Brandt"
    )
    # A setting the practitioner did not touch now shows what is saved.
    expect(page.locator("#time_zone")).to_have_value("Europe/Vienna")
    expect(page.locator('.changed-elsewhere[data-field="time_zone"]')).to_be_visible()
    _, stored = serve.api("GET", "/alert-settings", calendar)
    assert (stored["practitioner_name"], stored["visit_motive_in_email"]) == ("Dr. L. Brandt", False)

    page.locator("#conflict-save").click()
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(page.locator("#conflict")).to_be_hidden()
    expect(page.locator(".changed-elsewhere")).to_have_count(0)
    _, stored = serve.api("GET", "/alert-settings", calendar)
    # The practitioner's changes on top of the colleague's; the colleague's time zone stays.
    assert (stored["practitioner_name"], stored["visit_motive_in_email"], stored["time_zone"]) == (
        "Dr. Lea Brandt-Okafor",
        True,
        "Europe/Vienna",
    )

    # Once more, and this time the practitioner drops their change for the colleague's.
    page.fill("#time_zone", "Europe/Berlin")
    serve.api("PATCH", "/alert-settings", calendar, {"practitioner_name": "Dr. Brandt-Okafor"})
    save(page)
    expect(page.locator("#conflict")).to_be_visible()
    expect(page.locator("#time_zone")).to_have_value("Europe/Berlin")
    page.locator("#conflict-discard").click()
    expect(page.locator("#conflict")).to_be_hidden()
    expect(page.locator("#time_zone")).to_have_value("Europe/Vienna")
    expect(page.locator("#practitioner_name")).to_have_value("Dr. Brandt-Okafor")
    _, stored = serve.api("GET", "/alert-settings", calendar)
    assert stored["time_zone"] == "Europe/Vienna"
    assert watch.errors == []


def test_visit_motive_in_emails_is_off_until_ticked_with_the_apis_explanation(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-motive"
    serve.api("PUT", "/alert-settings", calendar, {"locale": "en"})
    open_settings(page, serve, calendar)
    expect(page.locator("#visit_motive_in_email")).not_to_be_checked()
    expect(page.locator('label[for="visit_motive_in_email"]')).to_have_text(
        "Name the reason for the visit in alert e-mails"
    )
    expect(page.locator("#visit_motive_in_email-explanation")).to_have_text(
        "The reason for the visit is health information. Switch it on for e-mails only if no one but "
        "you and your practice team can read this mailbox. It is never sent by SMS."
    )
    # An internationalised domain: shown as typed, sent to in Punycode.
    page.fill("#alert_email", "praxis@bücher.de")
    save(page)
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(page.locator("#alert_email")).to_have_value("praxis@bücher.de")
    expect(page.locator('.field[data-field="alert_email"] .sent-to')).to_have_text(
        "Alerts are sent to praxis@xn--bcher-kva.de"
    )
    confirm_code(page, "email", serve.new_code_for("praxis@xn--bcher-kva.de"))
    expect(channel(page, "email")).to_have_attribute("data-on", "true")

    serve.book("apt-web-motive-off", calendar, visit_motive="Vorsorge Herz")
    [without] = wait_until("the first booking is e-mailed", lambda: serve.emails_for("apt-web-motive-off"))
    assert "Vorsorge Herz" not in without["text"]

    page.check("#visit_motive_in_email")
    save(page)
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(page.locator("#visit_motive_in_email")).to_be_checked()
    serve.book("apt-web-motive-on", calendar, visit_motive="Vorsorge Herz")
    [named] = wait_until("the second booking is e-mailed", lambda: serve.emails_for("apt-web-motive-on"))
    assert named["to"] == "praxis@xn--bcher-kva.de" and "Vorsorge Herz" in named["text"]
    assert watch.errors == []


def test_bad_input_is_shown_next_to_its_field_and_nothing_typed_is_lost(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-bad-input"
    open_settings(page, serve, calendar)
    page.fill("#practitioner_name", "Dr. Jonas Becker")
    page.fill("#alert_email", "praxis.becker@example.com")
    page.fill("#alert_mobile", "030 1234567")  # a Berlin landline: SMS cannot reach it
    page.fill("#time_zone", "Europe/Atlantis")
    save(page)

    # In the calendar's language (German here), from the reason the API gives beside its English.
    mobile_error = page.locator('.field[data-field="alert_mobile"] .field-error')
    expect(mobile_error).to_have_text("Das ist keine Mobilnummer: Eine SMS erreicht kein Festnetz.")
    expect(page.locator('.field[data-field="time_zone"] .field-error')).to_have_text(
        "Wählen Sie eine Zeitzone aus der Liste."
    )
    expect(page.locator('.field[data-field="alert_email"] .field-error')).to_have_count(0)
    expect(page.locator("#alert_mobile")).to_have_attribute("aria-invalid", "true")
    # Every value is still as typed, the good and the bad.
    expect(page.locator("#practitioner_name")).to_have_value("Dr. Jonas Becker")
    expect(page.locator("#alert_email")).to_have_value("praxis.becker@example.com")
    expect(page.locator("#alert_mobile")).to_have_value("030 1234567")
    expect(page.locator("#time_zone")).to_have_value("Europe/Atlantis")
    status, stored = serve.api("GET", "/alert-settings", calendar)
    assert status == 200 and stored["alert_email"] is None  # nothing was saved

    page.fill("#alert_mobile", "0151 23456789")
    page.fill("#time_zone", "Europe/Berlin")
    save(page)
    expect(page.locator("#save-status")).to_have_text("Gespeichert.")
    expect(page.locator(".field-error")).to_have_count(0)
    expect(page.locator("#practitioner_name")).to_have_value("Dr. Jonas Becker")
    expect(page.locator("#alert_mobile")).to_have_value("+4915123456789")
    # Both contacts are saved and wait for their codes; neither channel is on before that.
    for name in ("sms", "email"):
        expect(verification(page, name)).to_have_attribute("data-state", "pending")
        expect(channel(page, name)).to_have_attribute("data-on", "false")
    assert watch.errors == []


def test_a_number_of_a_country_sms_do_not_go_to_is_refused_with_the_countries_named_in_the_pages_language(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-sms-country"
    serve.api("PUT", "/alert-settings", calendar, {"locale": "fr", "time_zone": "Europe/Paris"})
    open_settings(page, serve, calendar)
    page.fill("#alert_mobile", "+1 650 253 0000")  # a number of the United States
    page.fill("#practitioner_name", "Dr Claire Martin www.cabinet-martin.fr")
    save(page)

    mobile_error = page.locator('.field[data-field="alert_mobile"] .field-error')
    expect(mobile_error).to_contain_text("Pays de ce numéro\u00a0: États-Unis.")
    expect(mobile_error).to_contain_text("Allemagne")
    expect(mobile_error).to_contain_text("Suisse")
    expect(mobile_error).not_to_contain_text("FR,")  # countries by name, not by code
    expect(page.locator('.field[data-field="practitioner_name"] .field-error')).to_have_text(
        "Le nom ne doit pas contenir d’adresse web ou e-mail."
    )
    expect(page.locator("#alert_mobile")).to_have_value("+1 650 253 0000")
    screenshot(page, "settings-fr-refused")
    assert watch.errors == []


def test_a_hotmail_address_gets_the_spam_folder_warning_next_to_it(page: Page, serve: Serve) -> None:
    calendar = "cal-web-hotmail"
    open_settings(page, serve, calendar)
    page.fill("#alert_email", "dr.hotmail@hotmail.com")
    save(page)
    warning = page.locator('.field[data-field="alert_email"] .field-warning')
    expect(warning).to_contain_text("Hotmail")
    expect(warning).to_contain_text("Spam")

    page.fill("#alert_email", "dr.hotmail@example.com")
    save(page)
    expect(page.locator("#save-status")).to_have_text("Gespeichert.")
    expect(warning).to_have_count(0)


def test_the_test_button_sends_a_test_and_the_hourly_limit_says_when_to_try_again(
    page: Page, serve: Serve
) -> None:
    calendar = "cal-web-test-send"
    # This test is about the test button: the address is confirmed with its code through the
    # API beforehand (the page's own code entry has tests of its own).
    serve.enter_verified(calendar, {"alert_email": "praxis.test@example.com", "locale": "en"})
    open_settings(page, serve, calendar)
    button = page.locator("#send-test")
    status = page.locator("#test-status")

    button.click()
    expect(status).to_have_text("Test message on its way: E-mail.")
    wait_until(
        "the test e-mail arrives",
        lambda: [
            m
            for m in serve.outbox()["sent"]
            if m["to"] == "praxis.test@example.com" and "Test" in (m.get("subject") or "")
        ],
    )
    # TestAlertsPerHour is 3: the fourth in this hour is refused with Retry-After.
    for _ in range(3):
        expect(button).to_be_enabled()
        button.click()
        expect(status).not_to_have_text("Sending…")
    expect(status).to_have_attribute("data-state", "too_many_tests")
    text = status.inner_text()
    minutes = int(re.search(r"Try again in (\d+) minutes?\.", text).group(1))  # type: ignore[union-attr]
    expected = max(1, -(-(3600 - int(time.time()) % 3600) // 60))
    assert abs(minutes - expected) <= 1, text
    expect(button).to_be_disabled()


def test_a_test_without_any_contact_says_to_save_one_first(page: Page, serve: Serve) -> None:
    open_settings(page, serve, "cal-web-no-contact")
    page.locator("#send-test").click()
    expect(page.locator("#test-status")).to_have_text(
        "Speichern Sie zuerst eine E-Mail-Adresse oder eine Mobilnummer."
    )
    expect(page.locator("#warnings li")).to_contain_text("nur im Kalender")  # no_contact advice


def test_the_last_delivery_failure_shows_next_to_its_channel(page: Page, serve: Serve) -> None:
    calendar = "cal-web-bounced"
    serve.api("PUT", "/alert-settings", calendar, {"alert_email": "gone@example.com", "locale": "en"})
    # What the delivery-events function records for an SES bounce.
    table = f"{serve.appointments_table.removesuffix('AppointmentsTable')}DeliveryLogTable"
    DeliveryLogTable(serve.dynamodb, table).record_failure(  # type: ignore[arg-type]
        calendar,
        DeliveryFailure(
            channel="email", reason="bounce: Permanent/General", failed_at="2027-09-08T11:02:00Z"
        ),
        expires_at=int(time.time()) + 3600,
    )
    open_settings(page, serve, calendar)
    failure = page.locator('.field[data-field="alert_email"] .last-failure')
    expect(failure).to_contain_text("bounce: Permanent/General")
    expect(failure).to_contain_text("Sep 8, 2027")  # the calendar's zone: 13:02 in Berlin
    expect(failure).to_contain_text("01:02 PM")


def test_the_page_speaks_the_calendars_language_and_switches_with_it(page: Page, serve: Serve) -> None:
    open_settings(page, serve, "cal-web-fr")
    expect(page.locator("h1")).to_have_text("Paramètres des alertes")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator('label[for="alert_email"]')).to_have_text("Adresse e-mail pour les alertes")
    screenshot(page, "settings-fr")

    page.select_option("#locale", "it")
    save(page)
    expect(page.locator("h1")).to_have_text("Impostazioni degli avvisi")
    expect(page.locator("#save-status")).to_have_text("Salvato.")
    page.select_option("#locale", "fr")
    save(page)
    expect(page.locator("#save-status")).to_have_text("Enregistré.")


def test_english_can_be_chosen_with_british_or_american_conventions(page: Page, serve: Serve) -> None:
    calendar = "cal-web-en-gb"
    serve.api("PUT", "/alert-settings", calendar, {"locale": "en", "time_zone": "Europe/London"})
    open_settings(page, serve, calendar)

    page.select_option("#locale", "en-GB")
    save(page)
    expect(page.locator("#save-status")).to_have_text("Saved.")
    assert serve.api("GET", "/alert-settings", calendar)[1]["locale"] == "en-GB"

    page.reload()
    page.locator("#settings-form").wait_for()
    expect(page.locator("h1")).to_have_text("Alert settings")
    expect(page.locator("#locale")).to_have_value("en-GB")
    expect(page.locator("html")).to_have_attribute("lang", "en-GB")


def test_screenshot_of_the_settings_page_in_german(page: Page, serve: Serve) -> None:
    # Imported settings (the --calendars file): both contacts count as confirmed.
    open_settings(page, serve, "cal-web-shots-de")
    expect(page.locator('.field[data-field="alert_email"] .field-warning')).to_be_visible()
    expect(verification(page, "email").locator(".verification-state")).to_have_text("Bestätigt")
    # A new mobile number: the SMS channel waits for its code.
    page.fill("#alert_mobile", "0151 2345 6703")
    save(page)
    expect(verification(page, "sms").locator(".code-entry")).to_be_visible()
    expect(channel(page, "sms")).to_have_text("SMS: wartet auf den Code")
    expect(channel(page, "email")).to_have_text("E-Mail: an")
    screenshot(page, "settings-de")


def test_states_the_page_does_not_know_yet_are_shown_with_the_apis_own_words(
    page: Page, serve: Serve
) -> None:
    calendar = "cal-web-future"
    serve.api(
        "PUT", "/alert-settings", calendar, {"alert_email": "praxis.future@example.com", "locale": "en"}
    )

    # A later API version: a warning code, a channel and a property this page has never heard of.
    def later_api(route: Route) -> None:
        answer = route.fetch()
        settings = answer.json()
        settings["warnings"].append(
            {"code": "contact_unverified", "message": "Confirm the address with the link we sent."}
        )
        settings["last_delivery_failures"]["push"] = {
            "reason": "device unregistered",
            "failed_at": "2027-09-08T09:30:00Z",
        }
        settings["alert_email_verification"] = "pending"
        route.fulfill(response=answer, json=settings)

    page.route("**/settings-api/calendars/cal-web-future/alert-settings", later_api)
    open_settings(page, serve, calendar)
    expect(page.locator('#warnings li[data-code="contact_unverified"]')).to_have_text(
        "Confirm the address with the link we sent."
    )
    expect(page.locator('#warnings .last-failure[data-channel="push"]')).to_contain_text(
        "device unregistered"
    )
    expect(page.locator('#more dt[data-key="alert_email_verification"]')).to_have_text(
        "alert_email_verification"
    )
    expect(page.locator('#more dd[data-key="alert_email_verification"]')).to_have_text("pending")


def test_someone_who_may_only_view_the_calendar_is_told_only_administrators_change_settings(
    page: Page, serve: Serve
) -> None:
    sign_in_with(page, serve.viewer_token("cal-web-fr"))
    page.goto(serve.calendar_url("cal-web-fr", "/settings"))
    expect(page.locator("#notice")).to_have_text(
        "Seuls les administrateurs de ce calendrier peuvent modifier la destination des alertes."
    )
    expect(page.locator("#settings-form")).to_be_hidden()
    expect(page.locator("#send-test")).to_be_hidden()
