"""The calendar page: the alerts list, the unread badge and the pop-ups, in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageWatch, Serve, wait_until

HOSTILE = '"><img src=x onerror=alert(1)>'


def open_calendar(page: Page, serve: Serve, calendar_id: str) -> None:
    page.goto(serve.calendar_url(calendar_id))
    # The page has drawn once it says where its live connection stands.
    expect(page.locator("#connection")).not_to_have_attribute("data-state", "connecting")


def test_the_list_is_newest_first_pages_with_load_more_and_mark_read_keeps_the_badge_in_step(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-list"
    for minute in range(23):
        serve.book(
            f"apt-web-list-{minute:02d}",
            calendar,
            changed_at=f"2027-09-01T10:{minute:02d}:00+02:00",
            patient_last_name=f"Patient{minute:02d}",
        )
    wait_until("23 alerts in the feed", lambda: len(serve.feed(calendar)) == 23)

    open_calendar(page, serve, calendar)
    items = page.locator("#alerts .alert")
    expect(items).to_have_count(20)
    expect(items.first.locator(".headline")).to_contain_text("Patient22")
    expect(items.nth(19).locator(".headline")).to_contain_text("Patient03")
    expect(page.locator("#unread-badge")).to_have_text("23 ungelesen")

    page.locator("#load-more").click()
    expect(items).to_have_count(23)
    expect(items.last.locator(".headline")).to_contain_text("Patient00")
    expect(page.locator("#load-more")).to_be_hidden()

    newest = items.first
    newest.locator(".mark-read").click()
    expect(newest.locator(".is-read")).to_be_visible()
    expect(newest.locator(".mark-read")).to_be_hidden()
    expect(page.locator("#unread-badge")).to_have_text("22 ungelesen")
    items.last.locator(".mark-read").click()
    expect(page.locator("#unread-badge")).to_have_text("21 ungelesen")

    # What the page showed is what the feed holds.
    read = {a["appointment_id"] for a in serve.feed(calendar) if a["read"]}
    assert read == {"apt-web-list-22", "apt-web-list-00"}
    page.reload()
    expect(page.locator("#unread-badge")).to_have_text("21 ungelesen")
    expect(items.first.locator(".is-read")).to_be_visible()
    assert watch.errors == []


def test_a_hostile_patient_name_shows_literally_in_the_list(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-hostile-list"
    serve.book("apt-web-hostile-list", calendar, patient_first_name=HOSTILE, patient_last_name=HOSTILE)
    wait_until("the booking reaches the feed", lambda: serve.alert_of(calendar, "apt-web-hostile-list"))

    open_calendar(page, serve, calendar)
    headline = page.locator("#alerts .alert .headline")
    expect(headline).to_contain_text('"><img src=x onerror=alert(1)>')
    assert page.locator("#alerts img").count() == 0
    assert watch.dialogs == []
    assert watch.errors == []
