"""What an alert says by SMS, by e-mail and in the in-calendar feed, in every supported locale."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from practitioner_alerts.domain.notifications import AlertContent, AlertKind
from practitioner_alerts.domain.settings import Locale
from practitioner_alerts.rendering import count_segments, render_email, render_headline, render_sms

LOCALES: tuple[Locale, ...] = ("de", "en", "fr", "it")
KINDS: tuple[AlertKind, ...] = ("booked", "cancelled", "rescheduled", "test")

# 10:00Z is 12:00 in Berlin (summer time) on Thursday 9 Sept 2027; the reschedule moves the
# appointment to Friday 10 Sept, 09:30 Berlin time.
ORIGINAL_START = datetime(2027, 9, 9, 10, 0, tzinfo=UTC)
NEW_START = datetime(2027, 9, 10, 7, 30, tzinfo=UTC)

HEADLINES: dict[tuple[Locale, AlertKind], str] = {
    ("de", "booked"): "Neuer Online-Termin: M. Müller, Do., 9. Sept., 12:00",
    ("de", "cancelled"): "Kurzfristige Absage: M. Müller, Do., 9. Sept., 12:00",
    ("de", "rescheduled"): "Termin verschoben: M. Müller, von Do., 9. Sept., 12:00 auf Fr., 10. Sept., 09:30",
    ("de", "test"): "Testnachricht: Die Benachrichtigungen zum Kalender von Dr. Anna Schmidt sind aktiv.",
    # A Berlin calendar in "en": British conventions, day before month and a 24-hour clock.
    ("en", "booked"): "New online booking: M. Müller, Thu 9 Sept, 12:00",
    ("en", "cancelled"): "Short-notice cancellation: M. Müller, Thu 9 Sept, 12:00",
    ("en", "rescheduled"): "Appointment moved: M. Müller, from Thu 9 Sept, 12:00 to Fri 10 Sept, 09:30",
    ("en", "test"): "Test message: alerts for Dr. Anna Schmidt's calendar are active.",
    # French: a no-break space before the colon and inside the guillemets, and ’ for apostrophes.
    ("fr", "booked"): "Nouveau rendez-vous en ligne\u00a0: Müller M., jeu. 9 sept., 12:00",
    ("fr", "cancelled"): "Annulation tardive\u00a0: Müller M., jeu. 9 sept., 12:00",
    ("fr", "rescheduled"): (
        "Rendez-vous déplacé\u00a0: Müller M., du jeu. 9 sept., 12:00 au ven. 10 sept., 09:30"
    ),
    ("fr", "test"): (
        "Message de test\u00a0: les alertes pour l’agenda «\u00a0Dr. Anna Schmidt\u00a0» sont actives."
    ),
    ("it", "booked"): "Nuovo appuntamento online: M. Müller, gio 9 set, 12:00",
    ("it", "cancelled"): "Disdetta tardiva: M. Müller, gio 9 set, 12:00",
    ("it", "rescheduled"): "Appuntamento spostato: M. Müller, da gio 9 set, 12:00 a ven 10 set, 09:30",
    ("it", "test"): "Messaggio di prova: le notifiche per il calendario «Dr. Anna Schmidt» sono attive.",
}

# The long e-mail form of Thursday 9 Sept 2027, 12:00 in Berlin.
LONG_ORIGINAL_START: dict[Locale, str] = {
    "de": "Donnerstag, 9. September 2027 um 12:00 Uhr",
    "en": "Thursday, 9 September 2027 at 12:00",
    "fr": "jeudi 9 septembre 2027 à 12:00",
    "it": "giovedì 9 settembre 2027 alle ore 12:00",
}
LONG_NEW_START: dict[Locale, str] = {
    "de": "Freitag, 10. September 2027 um 09:30 Uhr",
    "en": "Friday, 10 September 2027 at 09:30",
    "fr": "vendredi 10 septembre 2027 à 09:30",
    "it": "venerdì 10 settembre 2027 alle ore 09:30",
}
INTROS: dict[tuple[Locale, AlertKind], str] = {
    ("de", "booked"): "Im Kalender von Dr. Anna Schmidt wurde online ein neuer Termin gebucht.",
    ("de", "cancelled"): "Im Kalender von Dr. Anna Schmidt wurde ein Termin kurzfristig online abgesagt.",
    ("de", "rescheduled"): "Im Kalender von Dr. Anna Schmidt wurde ein Termin kurzfristig online verschoben.",
    (
        "de",
        "test",
    ): "Dies ist eine Testnachricht: Die Benachrichtigungen zum Kalender von Dr. Anna Schmidt sind aktiv.",
    ("en", "booked"): "A new appointment was booked online in Dr. Anna Schmidt's calendar.",
    (
        "en",
        "cancelled",
    ): "An appointment in Dr. Anna Schmidt's calendar was cancelled online at short notice.",
    ("en", "rescheduled"): "An appointment in Dr. Anna Schmidt's calendar was moved online at short notice.",
    ("en", "test"): "This is a test message: alerts for Dr. Anna Schmidt's calendar are active.",
    ("fr", "booked"): (
        "Un nouveau rendez-vous a été pris en ligne dans l’agenda «\u00a0Dr. Anna Schmidt\u00a0»."
    ),
    ("fr", "cancelled"): (
        "Un rendez-vous de l’agenda «\u00a0Dr. Anna Schmidt\u00a0» a été annulé en ligne "
        "peu de temps à l’avance."
    ),
    ("fr", "rescheduled"): (
        "Un rendez-vous de l’agenda «\u00a0Dr. Anna Schmidt\u00a0» a été déplacé en ligne "
        "peu de temps à l’avance."
    ),
    ("fr", "test"): (
        "Ceci est un message de test\u00a0: les alertes pour l’agenda «\u00a0Dr. Anna Schmidt\u00a0» "
        "sont actives."
    ),
    ("it", "booked"): "È stato prenotato online un nuovo appuntamento nel calendario «Dr. Anna Schmidt».",
    ("it", "cancelled"): (
        "Un appuntamento nel calendario «Dr. Anna Schmidt» è stato disdetto online con poco preavviso."
    ),
    ("it", "rescheduled"): (
        "Un appuntamento nel calendario «Dr. Anna Schmidt» è stato spostato online con poco preavviso."
    ),
    (
        "it",
        "test",
    ): "Questo è un messaggio di prova: le notifiche per il calendario «Dr. Anna Schmidt» sono attive.",
}
# How each locale says "why you get this" and "delete the address to switch it off".
FOOTERS: dict[Locale, tuple[str, str]] = {
    "de": ("Sie erhalten diese Mitteilung, weil", "Benachrichtigungseinstellungen des Kalenders löschen"),
    "en": ("You are receiving this message because", "delete the address in the calendar's alert settings"),
    "fr": ("Vous recevez ce message parce que", "supprimez l’adresse dans les paramètres d’alerte"),
    "it": ("Riceve questo messaggio perché", "cancelli l’indirizzo nelle impostazioni delle notifiche"),
}
# What a headline says when the booking platform sent no name at all.
UNNAMED_PATIENT: dict[Locale, str] = {
    "de": "Neuer Online-Termin (ohne Namen): Do., 9. Sept., 12:00",
    "en": "New online booking (no name given): Thu 9 Sept, 12:00",
    "fr": "Nouveau rendez-vous en ligne (sans nom) : jeu. 9 sept., 12:00",
    "it": "Nuovo appuntamento online (senza nome): gio 9 set, 12:00",
}

# 300 characters of emoji, ZWJ sequences, Arabic and right-to-left overrides.
HOSTILE_NAME = (("\u202e😀مرحبا👨\u200d👩\u200d👧\u202d") * 30)[:300]


def alert(**changes: Any) -> AlertContent:
    kind = changes.get("kind", "booked")
    fields: dict[str, Any] = {
        "kind": kind,
        "calendar_id": "cal-1",
        "appointment_id": "apt-1",
        "starts_at": NEW_START if kind == "rescheduled" else ORIGINAL_START,
        "previous_starts_at": ORIGINAL_START if kind == "rescheduled" else None,
        "changed_at": datetime(2027, 9, 8, 13, 0, tzinfo=UTC),
        "patient_first_name": "Maria",
        "patient_last_name": "Müller",
        "visit_motive": "Kontrolle Schilddrüse",
        "practitioner_name": "Dr. Anna Schmidt",
        "time_zone": "Europe/Berlin",
        "locale": "de",
    }
    return AlertContent.model_validate({**fields, **changes})


def each_locale_and_kind() -> list[tuple[Locale, AlertKind]]:
    return [(locale, kind) for locale in LOCALES for kind in KINDS]


# --- in-calendar headline ---------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "kind"), each_locale_and_kind())
def test_headline_names_change_patient_and_local_time_in_each_locale(locale: Locale, kind: AlertKind) -> None:
    assert render_headline(alert(kind=kind, locale=locale)) == HEADLINES[locale, kind]


def test_headline_is_the_short_line_of_the_help_article_example() -> None:
    # The article's example: a booking for 9 Sept at 12:00, Berlin time.
    assert render_headline(alert()) == "Neuer Online-Termin: M. Müller, Do., 9. Sept., 12:00"


def test_headline_cuts_a_pasted_paragraph_in_the_surname() -> None:
    headline = render_headline(alert(patient_last_name="Müller-Lüdenscheidt " * 20))
    assert (
        headline == "Neuer Online-Termin: M. Müller-Lüdenscheidt Müller-Lüdenscheidt…, Do., 9. Sept., 12:00"
    )


# --- SMS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "kind"), each_locale_and_kind())
def test_sms_in_each_locale_fits_one_gsm7_segment(locale: Locale, kind: AlertKind) -> None:
    sms = render_sms(alert(kind=kind, locale=locale))

    cost = count_segments(sms)
    assert (cost.encoding, cost.segments) == ("GSM-7", 1)


@pytest.mark.parametrize(
    ("locale", "kind"), [(locale, kind) for locale, kind in each_locale_and_kind() if kind != "test"]
)
def test_sms_says_headline_signed_with_the_practitioner(locale: Locale, kind: AlertKind) -> None:
    sms = render_sms(alert(kind=kind, locale=locale))

    # The SMS spells the copy's typography as GSM-7 has it: plain spaces and apostrophes.
    plain = HEADLINES[locale, kind].replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
    assert sms == plain + " (Dr. Anna Schmidt)"


@pytest.mark.parametrize(("locale", "kind"), each_locale_and_kind())
def test_sms_never_carries_visit_motive_or_full_first_name(locale: Locale, kind: AlertKind) -> None:
    sms = render_sms(alert(kind=kind, locale=locale))

    assert "Kontrolle" not in sms
    assert "Schilddrüse" not in sms
    assert "Maria" not in sms


def test_german_sms_for_the_help_article_example_shows_berlin_time_and_weekday() -> None:
    assert render_sms(alert()) == "Neuer Online-Termin: M. Müller, Do., 9. Sept., 12:00 (Dr. Anna Schmidt)"


def test_reschedule_sms_names_old_and_new_time() -> None:
    sms = render_sms(alert(kind="rescheduled"))

    assert "von Do., 9. Sept., 12:00 auf Fr., 10. Sept., 09:30" in sms


def test_english_sms_turns_babels_narrow_no_break_space_into_a_plain_one() -> None:
    sms = render_sms(alert(locale="en-US"))

    assert "12:00 PM" in sms
    assert "\u202f" not in sms
    assert "\xa0" not in sms
    assert count_segments(sms).encoding == "GSM-7"


def test_calendar_in_new_york_shows_new_york_time() -> None:
    new_york = alert(time_zone="America/New_York", locale="en")

    assert "Thu, Sep 9, 6:00 AM" in render_sms(new_york)
    assert "Thursday, September 9, 2027 at 6:00\u202fAM" in render_email(new_york).text
    assert "Eastern Daylight Time" in render_email(new_york).text


def test_a_start_near_midnight_utc_shows_the_local_weekday() -> None:
    # 23:30Z on Wednesday is already Thursday 01:30 in Berlin.
    late = alert(starts_at=datetime(2027, 9, 8, 23, 30, tzinfo=UTC))

    assert "Do., 9. Sept., 01:30" in render_sms(late)


def test_winter_appointment_uses_standard_time() -> None:
    winter = alert(starts_at=datetime(2027, 1, 14, 10, 0, tzinfo=UTC))

    assert "Do., 14. Jan., 11:00" in render_sms(winter)
    assert "Mitteleuropäische Normalzeit" in render_email(winter).text


@pytest.mark.parametrize("locale", LOCALES)
def test_sms_without_patient_name_says_so_in_the_headline_instead_of_a_placeholder(locale: Locale) -> None:
    sms = render_sms(alert(locale=locale, patient_first_name=None, patient_last_name=None))

    assert sms == UNNAMED_PATIENT[locale] + " (Dr. Anna Schmidt)"


def test_sms_with_only_a_first_name_shows_its_initial() -> None:
    sms = render_sms(alert(patient_last_name=None))

    assert sms.startswith("Neuer Online-Termin: M. (ohne Nachnamen), Do.")


def test_sms_with_only_a_surname_shows_the_surname() -> None:
    assert render_sms(alert(patient_first_name=None)).startswith("Neuer Online-Termin: Müller, Do.")


def test_sms_strips_line_breaks_and_control_characters_from_names() -> None:
    sms = render_sms(alert(patient_first_name="\u202e\x00maria", patient_last_name="Mül\r\nler\t\x07"))

    assert sms.startswith("Neuer Online-Termin: M. Mül ler, Do.")
    assert not any(unicodedata.category(char).startswith("C") for char in sms)


def test_sms_drops_the_practitioner_rather_than_pay_a_second_segment() -> None:
    long_name = "Prof. Dr. med. Anna-Katharina von Hohenzollern"
    sms = render_sms(alert(kind="rescheduled", practitioner_name=long_name))

    assert "Hohenzollern" not in sms
    assert count_segments(sms).segments == 1


def test_sms_spells_accents_plainly_when_that_saves_a_segment() -> None:
    sms = render_sms(alert(kind="rescheduled", patient_first_name="Łukasz", patient_last_name="Żółć"))

    assert "L. Zolc" in sms
    assert count_segments(sms).segments == 1


def test_sms_keeps_exact_spelling_when_it_costs_nothing() -> None:
    sms = render_sms(alert(patient_first_name="Łukasz", patient_last_name="Żółć", practitioner_name=None))

    assert "Ł. Żółć" in sms
    assert count_segments(sms).segments == 1


def test_french_sms_in_august_stays_one_segment() -> None:
    sms = render_sms(alert(locale="fr", starts_at=datetime(2027, 8, 9, 10, 0, tzinfo=UTC)))

    assert "lun. 9 aout, 12:00" in sms
    assert count_segments(sms).segments == 1


def test_cyrillic_name_takes_a_second_segment_rather_than_being_cut() -> None:
    sms = render_sms(alert(kind="rescheduled", patient_first_name="Анна", patient_last_name="Иванова"))

    assert "А. Иванова" in sms
    assert count_segments(sms).segments == 2


def test_very_long_surname_is_cut_with_a_gsm7_ellipsis() -> None:
    sms = render_sms(alert(patient_last_name="Müller-Lüdenscheidt " * 20))

    # "…" is not GSM-7; three dots keep the SMS in one segment.
    assert sms == (
        "Neuer Online-Termin: M. Müller-Lüdenscheidt Müller-Lüdenscheidt..., Do., 9. Sept., 12:00 "
        "(Dr. Anna Schmidt)"
    )
    assert count_segments(sms).segments == 1


@pytest.mark.parametrize(("locale", "kind"), each_locale_and_kind())
def test_sms_stays_within_two_segments_for_a_300_char_emoji_and_rtl_name(
    locale: Locale, kind: AlertKind
) -> None:
    hostile = alert(
        kind=kind,
        locale=locale,
        patient_first_name=HOSTILE_NAME,
        patient_last_name=HOSTILE_NAME,
        practitioner_name=HOSTILE_NAME[:200],
        calendar_id=HOSTILE_NAME[:200],
    )

    sms = render_sms(hostile)

    assert count_segments(sms).segments <= 2
    assert "\u202e" not in sms
    assert "\u202d" not in sms
    what_happened = HEADLINES[locale, kind].split(":")[0].replace("\u00a0", " ")
    assert what_happened.strip() in sms  # still says what happened


def test_sms_for_hostile_surname_still_shows_the_time_and_cuts_the_name() -> None:
    sms = render_sms(alert(kind="rescheduled", patient_last_name=HOSTILE_NAME))

    assert "…, von Do., 9. Sept., 12:00 auf Fr., 10. Sept., 09:30" in sms
    assert count_segments(sms).segments == 2


def test_test_sms_without_practitioner_names_the_calendar_id() -> None:
    sms = render_sms(alert(kind="test", practitioner_name=None, calendar_id="praxis-42"))

    assert sms == "Testnachricht: Die Benachrichtigungen zum Kalender praxis-42 sind aktiv."


names = st.one_of(st.none(), st.text(max_size=300))


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    locale=st.sampled_from(LOCALES),
    first=names,
    last=names,
    practitioner=st.one_of(st.none(), st.text(max_size=200)),
    calendar_id=st.text(min_size=1, max_size=200),
)
def test_no_sms_ever_needs_more_than_two_segments(
    kind: AlertKind,
    locale: Locale,
    first: str | None,
    last: str | None,
    practitioner: str | None,
    calendar_id: str,
) -> None:
    content = alert(
        kind=kind,
        locale=locale,
        patient_first_name=first,
        patient_last_name=last,
        practitioner_name=practitioner,
        calendar_id=calendar_id,
    )

    assert count_segments(render_sms(content)).segments <= 2
    assert "\n" not in render_headline(content)
    assert "\n" not in render_email(content).subject


# --- e-mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "kind"), each_locale_and_kind())
def test_email_names_calendar_and_change_in_each_locale(locale: Locale, kind: AlertKind) -> None:
    email = render_email(alert(kind=kind, locale=locale))

    why, how_to_stop = FOOTERS[locale]
    for expected in (INTROS[locale, kind], why, how_to_stop):
        assert expected in email.text
        assert escape(expected) in email.html  # as autoescaping writes it: ' becomes &#39;


@pytest.mark.parametrize(
    ("locale", "kind"), [(locale, kind) for locale, kind in each_locale_and_kind() if kind != "test"]
)
def test_email_body_carries_full_name_motive_and_long_local_time(locale: Locale, kind: AlertKind) -> None:
    email = render_email(alert(kind=kind, locale=locale))

    assert "Maria Müller" in email.text
    assert "Kontrolle Schilddrüse" in email.text
    if kind == "rescheduled":
        assert LONG_ORIGINAL_START[locale] in email.text
        assert LONG_NEW_START[locale] in email.text
    else:
        assert LONG_ORIGINAL_START[locale] in email.text


@pytest.mark.parametrize(("locale", "kind"), each_locale_and_kind())
def test_email_subject_is_the_headline_with_the_practitioner(locale: Locale, kind: AlertKind) -> None:
    subject = render_email(alert(kind=kind, locale=locale)).subject

    expected = HEADLINES[locale, kind] if kind == "test" else f"{HEADLINES[locale, kind]} – Dr. Anna Schmidt"
    assert subject == expected


def test_german_reschedule_email_reads_as_a_clinic_would_write_it() -> None:
    text = render_email(alert(kind="rescheduled")).text

    assert text == (
        "Guten Tag,\n"
        "\n"
        "Im Kalender von Dr. Anna Schmidt wurde ein Termin kurzfristig online verschoben.\n"
        "\n"
        "Patient/-in: Maria Müller\n"
        "Bisheriger Termin: Donnerstag, 9. September 2027 um 12:00 Uhr\n"
        "Neuer Termin: Freitag, 10. September 2027 um 09:30 Uhr\n"
        "Besuchsgrund: Kontrolle Schilddrüse\n"
        "Zeitzone: Mitteleuropäische Sommerzeit\n"
        "\n"
        "-- \n"
        "Sie erhalten diese Mitteilung, weil diese E-Mail-Adresse für Benachrichtigungen zum Kalender "
        "von Dr. Anna Schmidt hinterlegt ist. Wenn Sie die Adresse in den Benachrichtigungseinstellungen "
        "des Kalenders löschen, erhalten Sie keine E-Mails mehr.\n"
    )


def test_email_subject_shows_initial_and_surname_not_the_full_name() -> None:
    subject = render_email(alert()).subject

    assert "M. Müller" in subject
    assert "Maria" not in subject
    assert "Kontrolle" not in subject


def test_email_subject_stays_one_line_when_names_contain_line_breaks() -> None:
    injected = alert(
        patient_first_name="Maria\r\nBcc: victim@example.com",
        patient_last_name="Müller\nX-Evil: 1\x00\x1b\u2028\u0085",
        practitioner_name="Dr. Schmidt\r\nSubject: hacked",
    )

    subject = render_email(injected).subject

    assert "\r" not in subject
    assert "\n" not in subject
    assert not any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in subject)
    assert subject.startswith("Neuer Online-Termin: M. Müller X-Evil: 1, Do.")


def test_email_html_escapes_script_in_names_and_motive() -> None:
    email = render_email(
        alert(
            patient_first_name="<script>alert(1)</script>",
            patient_last_name="<img src=x onerror=alert(2)>",
            visit_motive="<b>bold</b>",
            practitioner_name='Dr. "<script>"',
        )
    )

    assert "<script>" not in email.html
    assert "<img" not in email.html
    assert "<b>bold</b>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "&lt;b&gt;bold&lt;/b&gt;" in email.html


def test_email_plain_text_is_not_html_escaped() -> None:
    email = render_email(alert(patient_last_name="O'Brien & Söhne"))

    assert "Maria O'Brien & Söhne" in email.text
    assert "Maria O&#39;Brien &amp; Söhne" in email.html


def test_email_html_declares_the_language_and_isolates_names() -> None:
    html = render_email(alert(locale="fr")).html

    assert '<html lang="fr">' in html
    assert "<bdi>Maria Müller</bdi>" in html


def test_email_without_practitioner_names_the_calendar_id() -> None:
    email = render_email(alert(practitioner_name=None, calendar_id="praxis-42"))

    assert "Im Kalender praxis-42 wurde online ein neuer Termin gebucht." in email.text
    assert email.subject == "Neuer Online-Termin: M. Müller, Do., 9. Sept., 12:00"


@pytest.mark.parametrize("locale", LOCALES)
def test_email_without_patient_name_or_motive_says_so(locale: Locale) -> None:
    email = render_email(
        alert(locale=locale, patient_first_name=None, patient_last_name=None, visit_motive=None)
    )

    no_name = {
        "de": "(kein Name angegeben)",
        "en": "(no name given)",
        "fr": "(nom non indiqué)",
        "it": "(nome non indicato)",
    }
    assert no_name[locale] in email.text
    assert "Kontrolle" not in email.text


@pytest.mark.parametrize("locale", LOCALES)
def test_test_email_asks_to_rescue_it_from_the_spam_folder(locale: Locale) -> None:
    email = render_email(alert(kind="test", locale=locale))

    spam = {"de": "Spam-Ordner", "en": "spam folder", "fr": "indésirables", "it": "spam"}
    assert spam[locale] in email.text
    assert "Müller" not in email.text  # a test is about the calendar, not a patient
