"""SMS cost: GSM 03.38 septets or UCS-2 code units, and how many segments a text takes."""

from __future__ import annotations

import pytest

from practitioner_alerts.rendering.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsSegments,
    count_segments,
    gsm7_spelling,
)

CYRILLIC = "Ж"  # one UTF-16 code unit, outside GSM-7
EMOJI = "😀"  # beyond the Basic Multilingual Plane: a surrogate pair, two code units


def test_the_gsm7_basic_table_has_127_characters_besides_the_escape_code() -> None:
    assert len(GSM7_BASIC) == 127
    assert "\x1b" not in GSM7_BASIC
    assert frozenset("\f^{}\\[~]|€") == GSM7_EXTENSION


def test_plain_text_is_gsm7_one_septet_per_character() -> None:
    assert count_segments("Hello") == SmsSegments("GSM-7", 1, 5)


def test_german_french_and_italian_letters_of_the_basic_table_stay_gsm7() -> None:
    text = "äöüÄÖÜß éèÉ àìòù ÑñÇ ØøÅåÆæ"
    assert count_segments(text) == SmsSegments("GSM-7", 1, len(text))


def test_every_basic_character_costs_one_septet() -> None:
    text = "".join(sorted(GSM7_BASIC))
    assert count_segments(text) == SmsSegments("GSM-7", 1, 127)


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_extension_character_costs_two_septets(char: str) -> None:
    assert count_segments(f"a{char}b") == SmsSegments("GSM-7", 1, 4)


def test_euro_sign_counts_two_septets() -> None:
    assert count_segments("5 €") == SmsSegments("GSM-7", 1, 4)


def test_160_septets_fit_one_segment_and_161_need_two() -> None:
    assert count_segments("a" * 160) == SmsSegments("GSM-7", 1, 160)
    assert count_segments("a" * 161) == SmsSegments("GSM-7", 2, 161)


def test_concatenated_gsm7_parts_carry_153_septets_each() -> None:
    assert count_segments("a" * 306) == SmsSegments("GSM-7", 2, 306)
    assert count_segments("a" * 307) == SmsSegments("GSM-7", 3, 307)


def test_extension_characters_count_double_against_the_160_limit() -> None:
    assert count_segments("€" * 80) == SmsSegments("GSM-7", 1, 160)
    assert count_segments("a" * 159 + "€") == SmsSegments("GSM-7", 2, 161)


def test_an_extension_character_never_straddles_two_parts() -> None:
    # 306 septets would fit two parts, but the euro sign would start at septet 153 of 153.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text) == SmsSegments("GSM-7", 3, 306)


def test_one_character_outside_gsm7_switches_the_whole_text_to_ucs2() -> None:
    assert count_segments("a" * 100 + "ł") == SmsSegments("UCS-2", 2, 101)


def test_narrow_no_break_space_from_babel_is_not_gsm7() -> None:
    assert count_segments("12:00\u202fPM").encoding == "UCS-2"


def test_70_ucs2_units_fit_one_segment_and_71_need_two() -> None:
    assert count_segments(CYRILLIC * 70) == SmsSegments("UCS-2", 1, 70)
    assert count_segments(CYRILLIC * 71) == SmsSegments("UCS-2", 2, 71)


def test_concatenated_ucs2_parts_carry_67_units_each() -> None:
    assert count_segments(CYRILLIC * 134) == SmsSegments("UCS-2", 2, 134)
    assert count_segments(CYRILLIC * 135) == SmsSegments("UCS-2", 3, 135)


def test_emoji_counts_two_utf16_code_units() -> None:
    assert count_segments(EMOJI) == SmsSegments("UCS-2", 1, 2)
    assert count_segments(EMOJI * 35) == SmsSegments("UCS-2", 1, 70)
    assert count_segments(EMOJI * 36) == SmsSegments("UCS-2", 2, 72)


def test_a_surrogate_pair_never_straddles_two_parts() -> None:
    # 134 units would fit two parts, but the emoji would start at unit 67 of 67.
    text = CYRILLIC * 66 + EMOJI + CYRILLIC * 66
    assert count_segments(text) == SmsSegments("UCS-2", 3, 134)


def test_empty_text_is_still_one_message() -> None:
    assert count_segments("") == SmsSegments("GSM-7", 1, 0)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("lun. 9 août", "lun. 9 aout"),
        ("Łukasz Żółć", "Lukasz Zolc"),
        ("Müller-Lüdenscheidt", "Müller-Lüdenscheidt"),
        ("l'agenda « Dr Martin »", 'l\'agenda "Dr Martin"'),
        ("Garçon…", "Garcon..."),
    ],
)
def test_gsm7_spelling_drops_only_what_gsm7_lacks(text: str, plain: str) -> None:
    assert gsm7_spelling(text) == plain
    assert count_segments(plain).encoding == "GSM-7"


@pytest.mark.parametrize("text", ["Иванова", "王芳", "Anna 😀", "مرحبا"])
def test_gsm7_spelling_gives_up_on_scripts_it_cannot_spell(text: str) -> None:
    assert gsm7_spelling(text) is None
