"""serve's outbox page in Chromium: each e-mail's frame shows the whole e-mail, footer included."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.domain.settings import Locale
from practitioner_alerts.rendering import render_email
from practitioner_alerts_local.observe import SentMessage
from practitioner_alerts_local.runtime import RunReport
from practitioner_alerts_local.serve import outbox_page

CHROMIUM = Path("/usr/bin/chromium")
ZONES = {"de": "Europe/Berlin", "en": "Europe/London", "fr": "Europe/Paris", "it": "Europe/Rome"}


def in_own_browser(check: Callable[[Browser], None]) -> None:
    """``check`` in a Chromium of its own, on a thread of its own: the browser tests' session
    keeps Playwright's sync API (and its event loop) on the main thread for the whole run."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")

    def run() -> None:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"]
            )
            try:
                check(browser)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(run).result()


def sent_email(locale: Locale) -> SentMessage:
    alert = AlertContent(
        kind="rescheduled",
        calendar_id="cal-1",
        appointment_id=f"apt-{locale}",
        starts_at=datetime(2027, 11, 2, 10, 0, tzinfo=UTC),
        previous_starts_at=datetime(2027, 10, 30, 10, 0, tzinfo=UTC),
        changed_at=datetime(2027, 10, 29, 13, 0, tzinfo=UTC),
        patient_first_name="Maximiliane-Theodora",
        patient_last_name="Schwarzenberg-Hohenlohe",
        practitioner_name="Prof. Dr. med. Friederike von Hohenzollern-Sigmaringen",
        visit_motive="Kontrolle",
        time_zone=ZONES[locale],
        locale=locale,
    )
    email = render_email(alert)
    return SentMessage(
        "email", "praxis@example.com", alert.appointment_id, email.text, email.subject, email.html
    )


def test_every_emails_frame_shows_it_to_the_end_of_its_footer() -> None:
    in_own_browser(frames_show_whole_emails)


def frames_show_whole_emails(browser: Browser) -> None:
    messages = [sent_email(locale) for locale in ("de", "en", "fr", "it")]
    # A frame's scripts must still not run: an e-mail that tries is shown, inert.
    hostile = SentMessage(
        "email", "x@example.com", "apt-x", "x", "x", "<script>parent.document.title='ran'</script>"
    )
    page = browser.new_page(viewport={"width": 900, "height": 700})
    page.set_content(outbox_page(RunReport(decisions=[], sent=[*messages, hostile], dead_letters=[])))
    page.wait_for_load_state("load")

    frames = page.locator("iframe.email")
    assert frames.count() == 5
    for index in range(1, 5):  # newest first: the hostile one is at the top
        frame = frames.nth(index)
        footer = frame.content_frame.locator("p").last
        footer.wait_for()
        frame_box, footer_box = frame.bounding_box(), footer.bounding_box()
        assert frame_box is not None and footer_box is not None
        # The footer's last line is inside the frame, not cut off below it.
        assert footer_box["y"] + footer_box["height"] <= frame_box["y"] + frame_box["height"]
        inner = frame.evaluate("f => f.contentDocument.documentElement.scrollHeight")
        assert inner <= frame_box["height"]
    assert page.title() != "ran"
    page.close()
