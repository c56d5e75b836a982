"""The calendar page: the alerts list, the unread badge and the pop-ups, in a real browser."""

from __future__ import annotations

import json
import re
import time

from botocore.credentials import Credentials
from playwright.sync_api import Locator, Page, Route, WebSocketRoute, expect

from practitioner_alerts.adapters.appsync_events import EventPublisher
from tests.browser.conftest import PageWatch, Serve, screenshot, sign_in_with, wait_until

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
    expect(page).to_have_title("(23) Benachrichtigungen")

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


def open_live(page: Page, serve: Serve, calendar_id: str) -> None:
    page.goto(serve.calendar_url(calendar_id))
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")


def toasts_of(page: Page, appointment_headline: str) -> Locator:
    return page.locator("#toasts .toast").filter(has_text=appointment_headline)


def test_an_online_booking_pops_up_in_the_calendars_language_and_mark_read_updates_all(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-popup-de"
    open_live(page, serve, calendar)
    expect(page.locator("#empty")).to_be_visible()

    serve.book("apt-web-popup-1", calendar, patient_first_name="Jonas", patient_last_name="Keller")
    toast = page.locator("#toasts .toast")
    expect(toast).to_have_count(1)
    expect(toast.locator(".headline")).to_have_text("Neuer Online-Termin: J. Keller, Do., 9. Sept., 12:00")
    expect(toast.locator(".when")).to_have_text("Termin: Do., 9. Sept. 2027, 12:00")
    expect(page.locator("#unread-badge")).to_have_text("1 ungelesen")
    expect(page.locator("#alerts .alert")).to_have_count(1)

    toast.locator(".mark-read").click()
    expect(toast).to_have_count(0)
    expect(page.locator("#unread-badge")).to_be_hidden()
    expect(page).to_have_title("Benachrichtigungen")
    expect(page.locator("#alerts .alert .is-read")).to_be_visible()
    assert serve.alert_of(calendar, "apt-web-popup-1")["read"] is True  # type: ignore[index]
    assert watch.errors == []


def test_a_booking_pops_up_in_french_for_a_french_calendar(page: Page, serve: Serve) -> None:
    open_live(page, serve, "cal-web-fr")
    serve.book("apt-web-popup-fr", "cal-web-fr", patient_first_name="Luc", patient_last_name="Moreau")
    toast = page.locator("#toasts .toast")
    expect(toast.locator(".headline")).to_have_text(
        "Nouveau rendez-vous en ligne : Moreau L., jeu. 9 sept., 12:00"
    )
    expect(toast.locator(".when")).to_contain_text("Rendez-vous : jeu. 9 sept. 2027")
    expect(page.locator("h1")).to_have_text("Alertes")
    screenshot(page, "popup-fr")


def test_several_alerts_together_stack_newest_on_top_and_close_one_at_a_time(
    page: Page, serve: Serve
) -> None:
    calendar = "cal-web-stack"
    open_live(page, serve, calendar)
    for number, name in enumerate(["Adler", "Brandt", "Conrad"]):
        serve.book(
            f"apt-web-stack-{number}",
            calendar,
            patient_last_name=name,
            changed_at=f"2027-09-01T18:3{number}:00+02:00",
        )
    toasts = page.locator("#toasts .toast")
    expect(toasts).to_have_count(3)
    expect(toasts.first.locator(".headline")).to_contain_text("Conrad")
    expect(page.locator("#unread-badge")).to_have_text("3 ungelesen")

    toasts.first.locator(".close").click()
    expect(toasts).to_have_count(2)
    # Closing is not reading: the alert stays unread in the badge and the list.
    expect(page.locator("#unread-badge")).to_have_text("3 ungelesen")
    expect(page.locator("#alerts .alert").first.locator(".mark-read")).to_be_visible()


def test_a_late_cancellation_pops_up_and_an_early_one_does_not(page: Page, serve: Serve) -> None:
    calendar = "cal-web-cancel"
    serve.book("apt-web-early", calendar, patient_last_name="Frueh")
    serve.book("apt-web-late", calendar, patient_last_name="Spaet")
    wait_until("both bookings in the feed", lambda: len(serve.feed(calendar)) == 2)
    open_live(page, serve, calendar)

    # The appointments start on 9 Sept at 12:00 (Berlin).
    serve.cancel("apt-web-early", changed_at="2027-09-08T11:00:00+02:00")  # 25 h before: silent
    serve.cancel("apt-web-late", changed_at="2027-09-08T13:00:00+02:00")  # 23 h before: alert
    toast = page.locator("#toasts .toast")
    expect(toast).to_have_count(1)
    expect(toast.locator(".headline")).to_have_text("Kurzfristige Absage: M. Spaet, Do., 9. Sept., 12:00")
    expect(toast).to_have_attribute("data-kind", "cancelled")
    # The stream is read in order: the early cancellation was decided before the late one.
    decision = serve.decision_for("apt-web-early")
    assert decision is not None and decision["alert"] is False
    expect(page.locator("#toasts .toast").filter(has_text="Frueh")).to_have_count(0)
    expect(page.locator("#alerts .alert")).to_have_count(3)


def test_a_token_for_another_calendar_cannot_subscribe_and_the_page_says_so(page: Page, serve: Serve) -> None:
    sign_in_with(page, serve.token("cal-web-someone-else"))
    page.goto(serve.calendar_url("cal-web-shots-de"))
    connection = page.locator("#connection")
    expect(connection).to_have_attribute("data-state", "refused")
    expect(connection).to_contain_text("Live alerts refused")
    expect(page.locator("#notice")).to_contain_text("may not see this calendar")


def test_an_alert_published_while_offline_appears_after_reconnecting_exactly_once(
    page: Page, serve: Serve
) -> None:
    calendar = "cal-web-offline"
    open_live(page, serve, calendar)
    page.context.set_offline(True)
    connection = page.locator("#connection")
    expect(connection).to_have_attribute("data-state", "offline")
    expect(connection).to_have_text("Offline – Verbindung wird wiederhergestellt …")

    serve.book("apt-web-offline", calendar, patient_last_name="Offline")
    wait_until("the booking reaches the feed", lambda: serve.alert_of(calendar, "apt-web-offline"))
    expect(page.locator("#toasts .toast")).to_have_count(0)  # its push reached no one

    page.context.set_offline(False)
    expect(connection).to_have_attribute("data-state", "live")
    expect(toasts_of(page, "Offline")).to_have_count(1)
    expect(page.locator("#alerts .alert").filter(has_text="Offline")).to_have_count(1)
    expect(page.locator("#unread-badge")).to_have_text("1 ungelesen")

    # Once more offline and back: the catch-up finds it known and shows nothing again.
    page.context.set_offline(True)
    expect(connection).to_have_attribute("data-state", "offline")
    page.context.set_offline(False)
    expect(connection).to_have_attribute("data-state", "live")
    page.wait_for_timeout(1000)
    expect(toasts_of(page, "Offline")).to_have_count(1)
    expect(page.locator("#alerts .alert")).to_have_count(1)


def test_a_hostile_patient_name_shows_literally_in_the_pop_up(
    page: Page, serve: Serve, watch: PageWatch
) -> None:
    calendar = "cal-web-hostile-popup"
    open_live(page, serve, calendar)
    serve.book("apt-web-hostile-popup", calendar, patient_first_name=HOSTILE, patient_last_name=HOSTILE)
    toast = page.locator("#toasts .toast")
    expect(toast.locator(".headline")).to_contain_text('"><img src=x onerror=alert(1)>')
    assert page.locator("#toasts img, #alerts img").count() == 0
    assert watch.dialogs == []


def test_screenshot_of_the_pop_up_in_german(page: Page, serve: Serve) -> None:
    calendar = "cal-web-shots-de"
    serve.book("apt-web-shot-1", calendar, patient_first_name="Maria", patient_last_name="Müller")
    wait_until("the first booking in the feed", lambda: serve.alert_of(calendar, "apt-web-shot-1"))
    open_live(page, serve, calendar)
    serve.book(
        "apt-web-shot-2",
        calendar,
        patient_first_name="Jonas",
        patient_last_name="Keller",
        starts_at="2027-09-09T08:30:00+02:00",
        changed_at="2027-09-01T19:05:00+02:00",
    )
    expect(page.locator("#toasts .toast")).to_have_count(1)
    screenshot(page, "popup-de")


def test_an_alert_pushed_twice_pops_up_once(page: Page, serve: Serve) -> None:
    calendar = "cal-web-twice"
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: frames.append(str(frame))))
    open_live(page, serve, calendar)
    serve.book("apt-web-twice-1", calendar, patient_last_name="Zweimal")
    expect(toasts_of(page, "Zweimal")).to_have_count(1)

    # A publish retried after a lost answer: AppSync delivers the same event again.
    alert = serve.alert_of(calendar, "apt-web-twice-1")
    publisher = EventPublisher(
        f"http://127.0.0.1:{serve.realtime_port}/event", "eu-central-1", Credentials("local", "local")
    )
    publisher.publish(f"/alerts/{calendar}", [json.dumps(alert)])
    serve.book(
        "apt-web-twice-2", calendar, patient_last_name="Danach", changed_at="2027-09-01T18:31:00+02:00"
    )
    expect(toasts_of(page, "Danach")).to_have_count(1)

    assert sum(str(alert["alert_id"]) in frame for frame in frames) == 2  # type: ignore[index]
    expect(toasts_of(page, "Zweimal")).to_have_count(1)
    expect(page.locator("#alerts .alert")).to_have_count(2)
    expect(page.locator("#unread-badge")).to_have_text("2 ungelesen")


def test_the_front_desk_sees_the_pop_ups_of_a_calendar_it_may_only_view(page: Page, serve: Serve) -> None:
    calendar = "cal-web-front-desk"
    sign_in_with(page, serve.viewer_token(calendar))
    open_live(page, serve, calendar)
    serve.book("apt-web-front-desk", calendar, patient_last_name="Empfang")
    expect(toasts_of(page, "Empfang")).to_have_count(1)
    toasts_of(page, "Empfang").locator(".mark-read").click()
    expect(page.locator("#alerts .alert .is-read")).to_be_visible()


def test_a_token_about_to_expire_is_replaced_when_the_page_reconnects(page: Page, serve: Serve) -> None:
    calendar = "cal-web-expiring"
    handed_out: list[float] = []

    def token_source(route: Route) -> None:
        # The first token has 64 s left: the page keeps it for 4 s, until a minute before it expires.
        lifetime = 64 if not handed_out else 3600
        token = serve.issuer.issue_token([calendar], lifetime_seconds=lifetime)
        handed_out.append(time.time())
        route.fulfill(json={"token": token, "expires_at": int(time.time()) + lifetime})

    page.route("**/local/token?**", token_source)
    open_live(page, serve, calendar)
    assert len(handed_out) == 1
    time.sleep(max(0.0, handed_out[0] + 5 - time.time()))

    page.context.set_offline(True)
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    page.context.set_offline(False)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert len(handed_out) == 2
    serve.book("apt-web-expiring", calendar, patient_last_name="Erneuert")
    expect(toasts_of(page, "Erneuert")).to_have_count(1)


def test_a_token_the_api_refuses_is_replaced_once_and_the_page_loads(page: Page, serve: Serve) -> None:
    calendar = "cal-web-refused-token"
    serve.book("apt-web-refused-token", calendar, patient_last_name="Zurueck")
    wait_until("the booking reaches the feed", lambda: serve.alert_of(calendar, "apt-web-refused-token"))
    handed_out: list[str] = []

    def token_source(route: Route) -> None:
        # First a token that expired an hour ago but claims to be good for a day (a skewed clock).
        issued = time.time() - 7200 if not handed_out else time.time()
        token = serve.issuer.issue_token([calendar], lifetime_seconds=3600, now=issued)
        handed_out.append(token)
        route.fulfill(json={"token": token, "expires_at": int(time.time()) + 86400})

    page.route("**/local/token?**", token_source)
    open_live(page, serve, calendar)
    expect(page.locator("#alerts .alert").filter(has_text="Zurueck")).to_have_count(1)
    expect(page.locator("#notice")).to_be_hidden()
    assert len(handed_out) == 2


def test_a_connection_whose_keep_alives_stop_is_dropped_and_the_page_reconnects(
    page: Page, serve: Serve
) -> None:
    calendar = "cal-web-silent"
    connections: list[str] = []

    def endpoint(socket: WebSocketRoute) -> None:
        connections.append(socket.url)
        if len(connections) > 1:
            socket.connect_to_server()  # from the second connection on: the real endpoint
            return

        # The first connection acknowledges with a 1.5 s time-out, subscribes, then goes silent.
        def answer(message: str | bytes) -> None:
            sent = json.loads(message)
            if sent["type"] == "connection_init":
                socket.send(json.dumps({"type": "connection_ack", "connectionTimeoutMs": 1500}))
            elif sent["type"] == "subscribe":
                socket.send(json.dumps({"type": "subscribe_success", "id": sent["id"]}))

        socket.on_message(answer)

    page.route_web_socket(re.compile(r".*/event/realtime$"), endpoint)
    page.goto(serve.calendar_url(calendar))
    connection = page.locator("#connection")
    expect(connection).to_have_attribute("data-state", "offline")
    expect(connection).to_have_attribute("data-state", "live")
    assert len(connections) == 2
    serve.book("apt-web-silent", calendar, patient_last_name="Wieder")
    expect(toasts_of(page, "Wieder")).to_have_count(1)


def test_a_connection_refused_for_its_token_is_retried_once_with_a_new_token(
    page: Page, serve: Serve
) -> None:
    calendar = "cal-web-new-token"
    tokens: list[str] = []

    def token_source(route: Route) -> None:
        tokens.append(serve.token(calendar))
        route.fulfill(json={"token": tokens[-1], "expires_at": int(time.time()) + 3600})

    def endpoint(socket: WebSocketRoute) -> None:
        if len(tokens) > 1:
            socket.connect_to_server()
            return
        # What AppSync answers a token it no longer accepts (say, revoked by the user pool).
        error = {"errorType": "UnauthorizedException", "message": "You are not authorized to make this call."}
        socket.on_message(
            lambda _message: socket.send(json.dumps({"type": "connection_error", "errors": [error]}))
        )

    page.route("**/local/token?**", token_source)
    page.route_web_socket(re.compile(r".*/event/realtime$"), endpoint)
    page.goto(serve.calendar_url(calendar))
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert len(tokens) == 2


def test_subscription_ids_are_uuids_also_where_the_browser_has_no_random_uuid(
    page: Page, serve: Serve
) -> None:
    # Pages served over plain http from another host are no secure context: no crypto.randomUUID.
    page.goto(serve.calendar_url("cal-web-uuid"))
    ids = page.evaluate(
        """async () => {
            const { newSubscriptionId } = await import("/web/alerts-client.js");
            const native = newSubscriptionId();
            Object.defineProperty(Crypto.prototype, "randomUUID", { value: undefined });
            return [native, newSubscriptionId(), newSubscriptionId()];
        }"""
    )
    uuid4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(uuid4.match(value) for value in ids), ids
    assert len(set(ids)) == 3
