"""Every message kind in every language, read the way a copy editor would: the known traps.

Each message is rendered as it goes out (SMS, e-mail subject and both bodies, the feed's
headline) for ordinary, missing and very long names, and for a reschedule across a
daylight-saving change; then checked for what a native speaker noticed before: double spaces,
English left in another language, unbalanced quotes and brackets, French typography, unfilled
placeholders, and what an SMS costs. The e-mail goes through the SES adapter's MIME and is
parsed back, so a subject that a mail client would show differently fails here.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from practitioner_alerts.adapters.ses import EmailGateway
from practitioner_alerts.domain.notifications import AlertContent, AlertKind
from practitioner_alerts.domain.settings import Locale
from practitioner_alerts.rendering import count_segments, render_email, render_headline, render_sms

LANGUAGES: tuple[Locale, ...] = ("de", "en", "fr", "it")
KINDS: tuple[AlertKind, ...] = ("booked", "cancelled", "rescheduled", "test", "verification")
ZONES: dict[str, str] = {
    "de": "Europe/Berlin",
    "en": "Europe/London",
    "fr": "Europe/Paris",
    "it": "Europe/Rome",
}
# Saturday 30 October 2027 is summer time in all four zones; Tuesday 2 November is winter time.
SUMMER = datetime(2027, 10, 30, 10, 0, tzinfo=UTC)
WINTER = datetime(2027, 11, 2, 10, 0, tzinfo=UTC)

NAMES: dict[str, dict[str, str | None]] = {
    "named": {"patient_first_name": "Lena", "patient_last_name": "Groß"},
    "unnamed": {"patient_first_name": None, "patient_last_name": None},
    "first name only": {"patient_first_name": "Lena", "patient_last_name": None},
    "long names": {
        "patient_first_name": "Maximiliane-Theodora",
        "patient_last_name": "Schwarzenberg-Hohenlohe-Waldenburg-Schillingsfürst",
        "practitioner_name": "Prof. Dr. med. Friederike von Hohenzollern-Sigmaringen",
    },
}

# Words only English uses; any of them in another language's message is a leftover.
ENGLISH_ONLY = re.compile(
    r"\b(the|and|from|with|your|this|calendar|booking|appointment|cancelled|moved|alerts?|"
    r"Hello|notice|settings|time zone|address|valid|confirms|ignore|not you|patient's)\b",
    re.IGNORECASE,
)
# The product's name goes into every language's code message, as a name.
PRODUCT = "Practitioner Alerts"
QUOTES: dict[str, tuple[tuple[str, str], ...]] = {
    "de": (("„", "“"), ("(", ")")),
    "en": (("“", "”"), ("(", ")")),
    "fr": (("«", "»"), ("(", ")")),
    "it": (("«", "»"), ("(", ")")),
}
NO_BREAK = "\u00a0\u202f"


@dataclass(frozen=True)
class Rendered:
    label: str
    sms: str
    headline: str
    subject: str
    text: str
    html_text: str


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(part.strip() for part in parser.parts if part.strip())


def alert(language: Locale, kind: AlertKind, **changes: Any) -> AlertContent:
    fields: dict[str, Any] = {
        "kind": kind,
        "calendar_id": "cal-dr-weber",
        "appointment_id": "apt-1",
        "starts_at": WINTER if kind == "rescheduled" else SUMMER,
        "previous_starts_at": SUMMER if kind == "rescheduled" else None,
        "changed_at": datetime(2027, 10, 29, 13, 0, tzinfo=UTC),
        "patient_first_name": "Lena",
        "patient_last_name": "Groß",
        "visit_motive": None,  # the platform's own words, in whatever language it writes
        "practitioner_name": "Dr. Anna Weber",
        "time_zone": ZONES[language],
        "locale": language,
        "verification_code": "123456" if kind == "verification" else None,
    }
    return AlertContent.model_validate({**fields, **changes})


def every_message() -> Iterator[tuple[str, AlertContent]]:
    for language in LANGUAGES:
        for kind in KINDS:
            for names, values in NAMES.items():
                yield f"{language}-{kind}-{names}", alert(language, kind, **values)


MESSAGES = list(every_message())


def render(content: AlertContent) -> Rendered:
    mail = render_email(content)
    return Rendered(
        label=f"{content.locale} {content.kind}",
        sms=render_sms(content),
        headline=render_headline(content),
        subject=mail.subject,
        text=mail.text,
        html_text=html_text(mail.html),
    )


def texts(rendered: Rendered) -> dict[str, str]:
    return {
        "sms": rendered.sms,
        "headline": rendered.headline,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html_text,
    }


@pytest.mark.parametrize(("label", "content"), MESSAGES, ids=[label for label, _ in MESSAGES])
def test_no_message_in_any_language_has_a_known_trap(label: str, content: AlertContent) -> None:
    rendered = render(content)
    language = content.locale

    for part, text in texts(rendered).items():
        lines = [line for line in text.splitlines() if line.strip() and line != "-- "]
        for line in lines:
            assert "  " not in line, f"{part}: double space in {line!r}"
            assert line == line.strip(), f"{part}: stray space around {line!r}"
        assert "{" not in text and "}" not in text, f"{part}: unfilled placeholder in {text!r}"
        assert "None" not in text, f"{part}: {text!r}"
        if language != "en":
            leftover = ENGLISH_ONLY.search(text.replace(PRODUCT, ""))
            assert leftover is None, f"{part}: English {leftover.group(0)!r} in {text!r}"
        if part != "sms":  # the SMS spells its quotes plainly when that saves a segment
            for opening, closing in QUOTES[language]:
                assert text.count(opening) == text.count(closing), f"{part}: {opening}{closing} in {text!r}"

    if language in ("fr", "it"):
        for part in ("headline", "subject", "text", "html"):
            assert "'" not in texts(rendered)[part], f"{part}: straight apostrophe in {language}"
    if language == "fr":
        for part in ("headline", "text", "html"):
            # Every colon, semicolon, question and exclamation mark takes a no-break space before
            # it; a time's colon (12:00) is no punctuation.
            for match in re.finditer(r"(?<!\d)[:;?!]", texts(rendered)[part]):
                before = texts(rendered)[part][match.start() - 1]
                assert before in NO_BREAK, f"{part}: {before!r} before {match.group(0)!r}"
            for match in re.finditer("«", texts(rendered)[part]):
                assert texts(rendered)[part][match.end()] == "\u00a0", f"{part}: after «"

    cost = count_segments(rendered.sms)
    assert cost.encoding == "GSM-7", rendered.sms  # the copy's own characters never force UCS-2
    if "long names" in label:
        assert cost.segments <= 2, rendered.sms
    else:
        assert cost.segments == 1, rendered.sms


class CapturingSes:
    """What the SES adapter hands to SendEmail, kept instead of sent."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    def send_email(self, **request: Any) -> dict[str, str]:
        self.raw.append(request["Content"]["Raw"]["Data"])
        return {"MessageId": f"m-{len(self.raw)}"}


@pytest.mark.parametrize(("label", "content"), MESSAGES, ids=[label for label, _ in MESSAGES])
def test_the_sent_mime_parses_back_to_the_rendered_subject_and_bodies(
    label: str, content: AlertContent
) -> None:
    ses = CapturingSes()
    rendered = render_email(content)

    EmailGateway(ses, "alerts@example.com", None).send("praxis@example.com", rendered)  # type: ignore[arg-type]

    (raw,) = ses.raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    # Character for character: the default policy folded long non-ASCII subjects, and the
    # parsed subject came back with a double space ("12:00  – Dr. Anna Weber").
    assert str(parsed["Subject"]) == rendered.subject
    assert max(len(line) for line in raw.splitlines()) <= 998
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == rendered.text
    assert html.get_content().replace("\r\n", "\n") == rendered.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reschedule_across_a_dst_change_names_the_zone_of_each_time(language: Locale) -> None:
    text = render_email(alert(language, "rescheduled")).text

    previous, new = (line for line in text.splitlines() if re.search(r"\d{4}", line))
    summer = {"de": "Sommerzeit", "en": "British Summer Time", "fr": "heure d’été", "it": "Ora legale"}
    winter = {"de": "Normalzeit", "en": "Greenwich Mean Time", "fr": "heure normale", "it": "Ora standard"}
    assert summer[language] in previous and winter[language] in new
    # No single zone line that would be wrong for one of the two.
    assert summer[language] not in new and winter[language] not in previous
    assert text.count(summer[language]) == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reschedule_within_one_offset_names_the_zone_once(language: Locale) -> None:
    content = alert(language, "rescheduled", previous_starts_at=datetime(2027, 11, 1, 10, 0, tzinfo=UTC))

    text = render_email(content).text

    assert sum("(" in line and re.search(r"\d{4}", line) is not None for line in text.splitlines()) == 0


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("en", "Europe/London", "Thu 9 Sept, 12:00"),  # British conventions for a European zone
        ("en", "Europe/Berlin", "Thu 9 Sept, 13:00"),
        ("en", "America/New_York", "Thu, Sep 9, 7:00\u202fAM"),
        ("en-US", "Europe/London", "Thu, Sep 9, 12:00\u202fPM"),  # chosen outright
        ("en-GB", "America/New_York", "Thu 9 Sept, 07:00"),
    ],
)
def test_english_follows_the_calendars_zone_unless_en_gb_or_en_us_is_chosen(
    locale: Locale, zone: str, expected: str
) -> None:
    content = alert(
        "en", "booked", locale=locale, time_zone=zone, starts_at=datetime(2027, 9, 9, 11, 0, tzinfo=UTC)
    )

    assert render_headline(content) == f"New online booking: L. Groß, {expected}"
    lang = 'lang="en-US"' if "Sep 9" in expected else 'lang="en-GB"'
    assert lang in render_email(content).html
