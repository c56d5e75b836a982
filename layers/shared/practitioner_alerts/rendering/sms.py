"""SMS text and what it costs: GSM 03.38 septets or UCS-2 code units, split into segments.

A single SMS carries 160 GSM-7 septets or 70 UCS-2 code units. Longer texts are sent as
concatenated parts whose header takes room, leaving 153 septets or 67 units per part. One
character outside the GSM-7 alphabet switches the whole text to UCS-2, which is why the SMS
prefers plain spaces and, when it saves a segment, accent-free spellings.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from practitioner_alerts.domain.digest import DigestLine
from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.languages import words as words_for
from practitioner_alerts.rendering.formatting import (
    ELLIPSIS,
    NAME_LIMIT,
    abbreviate,
    calendar_name,
    calendar_phrase,
    clean,
    headline_text,
    local_date,
    local_time,
    patient_label,
)
from practitioner_alerts.rendering.verification import verification_sms

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet, in table order; the escape code 0x1B is not a character of its own.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached through the escape code, so each costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_CAPACITY: dict[Encoding, int] = {"GSM-7": 160, "UCS-2": 70}
PART_CAPACITY: dict[Encoding, int] = {"GSM-7": 153, "UCS-2": 67}
MAX_SEGMENTS = 2

# Typography the copy or a name may bring in that has a plain GSM-7 spelling NFKD does not give.
_GSM7_SPELLING = {
    "…": "...",
    "–": "-",
    "—": "-",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "ı": "i",
    "Œ": "OE",
    "œ": "oe",
    "Þ": "Th",
    "þ": "th",
    "ð": "d",
}


@dataclass(frozen=True)
class SmsSegments:
    encoding: Encoding
    segments: int
    units: int  # septets for GSM-7 (extension chars count 2), UTF-16 code units for UCS-2


def _widths(text: str) -> tuple[Encoding, list[int]]:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        return "GSM-7", [2 if char in GSM7_EXTENSION else 1 for char in text]
    # Characters beyond the Basic Multilingual Plane (emoji) travel as UTF-16 surrogate pairs.
    return "UCS-2", [2 if ord(char) > 0xFFFF else 1 for char in text]


def _parts(widths: Sequence[int], capacity: int) -> int:
    # Handsets never split an escape sequence or a surrogate pair across two parts; a character
    # that would straddle the boundary starts the next part and leaves a unit unused.
    parts, used = 1, 0
    for width in widths:
        if used + width > capacity:
            parts, used = parts + 1, 0
        used += width
    return parts


def count_segments(text: str) -> SmsSegments:
    """Encoding, number of segments and units of ``text``; an empty text is still one SMS."""
    encoding, widths = _widths(text)
    units = sum(widths)
    if units <= SINGLE_CAPACITY[encoding]:
        return SmsSegments(encoding, 1, units)
    return SmsSegments(encoding, _parts(widths, PART_CAPACITY[encoding]), units)


def gsm7_spelling(text: str) -> str | None:
    """``text`` with accents and typography the GSM-7 alphabet lacks spelled plainly ("août" ->
    "aout", "Łódź" -> "Lodz"), or None when a character has no such spelling (Cyrillic, emoji)."""
    # Guillemets take spaces inside in French; a plain quote mark does not.
    text = text.replace("« ", "«").replace(" »", "»")
    spelled: list[str] = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            spelled.append(char)
        elif char in _GSM7_SPELLING:
            spelled.append(_GSM7_SPELLING[char])
        else:
            base = [part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)]
            if not base or any(part not in GSM7_BASIC for part in base):
                return None
            spelled.extend(base)
    return "".join(spelled)


def plain_typography(text: str) -> str:
    """The copy's typography as GSM-7 has it: the French no-break spaces (and Babel's narrow one
    in "12:00 PM") as plain spaces, typographic apostrophes as straight ones. A name's own
    spelling is left to _cheapest."""
    return clean(text).replace("’", "'")


def _cheapest(text: str) -> str:
    # Names keep their exact spelling unless a plain spelling actually saves a segment.
    cost = count_segments(text)
    if cost.encoding == "UCS-2":
        plain = gsm7_spelling(text)
        if plain is not None and count_segments(plain).segments < cost.segments:
            return plain
    return text


def _fits(text: str, segments: int = MAX_SEGMENTS) -> bool:
    return count_segments(text).segments <= segments


def _longest_fitting(compose: Callable[[str], str], name: str) -> str | None:
    """``compose(name)``, or with ``name`` cut as little as needed to fit; None if nothing fits."""
    text = compose(name)
    if _fits(text):
        return text
    best = None
    shortest, longest = 1, len(name) - 1
    while shortest <= longest:
        keep = (shortest + longest) // 2
        candidate = compose(abbreviate(name, keep))
        if _fits(candidate):
            best, shortest = candidate, keep + 1
        else:
            longest = keep - 1
    return best


def render_sms(alert: AlertContent) -> str:
    """The alert as one SMS segment where the content allows, and never more than two.

    It carries the least patient data a doctor can act on: first-name initial and surname, never
    the visit motive. A name too long for two segments is shortened, not the message extended.
    """
    if alert.kind == "verification":
        return _cheapest(plain_typography(verification_sms(alert)))
    words = words_for(alert.locale)

    def compose(patient: str = "", calendar: str = "", signature: str = "") -> str:
        text = headline_text(alert, words, patient=patient, calendar=calendar)
        return _cheapest(plain_typography(text + signature))

    if alert.kind == "test":
        # A test has no patient; the calendar's name is what it proves, so that is what gets cut.
        name = abbreviate(calendar_name(alert), NAME_LIMIT)
        fitted = _longest_fitting(lambda cut: compose(calendar=calendar_phrase(words, alert, cut)), name)
        return fitted or compose(calendar=calendar_phrase(words, alert, ""))

    first_name = clean(alert.patient_first_name)
    surname = abbreviate(clean(alert.patient_last_name), NAME_LIMIT)
    practitioner = abbreviate(clean(alert.practitioner_name), NAME_LIMIT)
    if practitioner:
        # Tells a practice phone that serves several calendars whose patient this is, but only
        # while the whole message stays one segment.
        signed = compose(patient_label(words, first_name, surname), signature=f" ({practitioner})")
        if _fits(signed, segments=1):
            return signed
    fitted = _longest_fitting(lambda cut: compose(patient_label(words, first_name, cut)), surname)
    return fitted or compose(patient_label(words, first_name, ""))


_DIGEST_ORDER = ("booked", "cancelled", "rescheduled")


def render_digest(alert: AlertContent, lines: Sequence[DigestLine]) -> str:
    """A window's further alerts in one SMS segment: per kind of change, how many and when
    ("3 weitere neue Online-Termine: Do., 9. Sept. 12:00, 12:15, Fr., 10. Sept. 09:00").

    No patient is named: a digest may tell dozens, and the feed and the e-mails name each. It
    lists as many starts as fit one segment, the earliest of each kind first; the count always
    says how many there were, and "…" that some are not listed. ``alert`` gives the calendar's language, zone
    and practitioner."""
    words = words_for(alert.locale)
    groups: list[tuple[str, list[str]]] = []
    for kind in _DIGEST_ORDER:
        starts = sorted(line.starts_at for line in lines if line.kind == kind)
        if not starts:
            continue
        # A start's date is written only where it differs from the one listed before it.
        shown, previous_date = [], None
        for start in starts:
            date, time = local_date(start, alert), local_time(start, alert)
            shown.append(time if date == previous_date else f"{date} {time}")
            previous_date = date
        groups.append((kind, shown))

    def compose(listed: int, signature: str = "") -> str:
        # Starts are listed by turns, one of each kind at a time, so that a cancellation's
        # free slot is not crowded out by a run of bookings.
        quota = [0] * len(groups)
        while listed > 0:
            for index, (_, starts) in enumerate(groups):
                if listed > 0 and quota[index] < len(starts):
                    quota[index] += 1
                    listed -= 1
        parts = []
        for (kind, starts), shown in zip(groups, quota, strict=True):
            wording = words.digest_one if len(starts) == 1 else words.digest_many
            told = wording[kind].format(count=len(starts))
            if shown:
                times = starts[:shown] if shown == len(starts) else [*starts[:shown], ELLIPSIS]
                told += words.label_separator + ", ".join(times)
            parts.append(told)
        return _cheapest(plain_typography("; ".join(parts) + signature))

    everything = sum(len(starts) for _, starts in groups)
    practitioner = abbreviate(clean(alert.practitioner_name), NAME_LIMIT)
    if practitioner and _fits(signed := compose(everything, f" ({practitioner})"), segments=1):
        return signed
    for listed in range(everything, 0, -1):
        if _fits(text := compose(listed), segments=1):
            return text
    return compose(0)
