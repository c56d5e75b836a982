"""The pages' own words (web/i18n): every language says everything, with the same blanks.

A key missing in one language shows as the bare key on that calendar's page; a placeholder a
translation drops shows a sentence without its number ("Try again in minutes").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from practitioner_alerts.domain.settings import REFUSAL_REASONS

WEB = Path(__file__).resolve().parents[2] / "web"
LOCALES = ("de", "en", "fr", "it")
# Keys the settings page builds from what the API answers: its codes, states and channels.
BUILT_KEYS = [
    *(
        f"settings.code_error.{code}"
        for code in ("wrong_code", "invalid_request", "code_expired", "nothing_to_verify")
    ),
    *(f"settings.verification.{state}" for state in ("pending", "verified")),
    *(
        f"settings.{family}.{channel}"
        for family in ("confirmed", "code_label")
        for channel in ("sms", "email")
    ),
    *(f"settings.channel.{channel}" for channel in ("sms", "email", "in_app")),
    # Every reason the domain refuses an entered setting for, and the request's length limit.
    *(f"settings.field_error.{reason}" for reason in (*REFUSAL_REASONS, "string_too_long")),
]


def words(locale: str) -> dict[str, str | dict[str, str]]:
    return json.loads((WEB / "i18n" / f"{locale}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def placeholders(text: str | dict[str, str]) -> set[str]:
    texts = text.values() if isinstance(text, dict) else [text]
    return {name for piece in texts for name in re.findall(r"\{(\w+)\}", piece)}


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != "en"])
def test_every_language_has_every_text_with_the_same_placeholders(locale: str) -> None:
    english, other = words("en"), words(locale)
    assert sorted(other) == sorted(english)
    for key, text in english.items():
        assert placeholders(other[key]) == placeholders(text), key
        # Counted texts are counted in every language; "other" is the form every language has.
        assert isinstance(other[key], dict) == isinstance(text, dict), key
        if isinstance(text, dict):
            assert "other" in other[key], key  # type: ignore[operator]


def test_every_text_the_pages_ask_for_exists() -> None:
    english = words("en")
    asked = set(BUILT_KEYS)
    for page in WEB.glob("*.html"):
        asked |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', page.read_text(encoding="utf-8")))
    for module in WEB.glob("*.js"):
        # Any quoted key, also those chosen by a condition (`t(on ? "settings.on" : "settings.off")`).
        asked |= set(
            re.findall(r'"((?:page|error|calendar|settings)\.[\w.]+)"', module.read_text(encoding="utf-8"))
        )
    assert asked, "the pages ask for words"
    assert sorted(asked - set(english)) == []
