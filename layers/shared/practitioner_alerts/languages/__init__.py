"""The copy, one module per language, each to be read and reviewed as a whole.

See :mod:`practitioner_alerts.languages.wording` for what every language must say, and why the
copy is Python rather than Babel message catalogues.
"""

from __future__ import annotations

from practitioner_alerts.domain.settings import Language as LanguageCode
from practitioner_alerts.domain.settings import Locale, language_of
from practitioner_alerts.languages.de import GERMAN
from practitioner_alerts.languages.en import ENGLISH
from practitioner_alerts.languages.fr import FRENCH
from practitioner_alerts.languages.it import ITALIAN
from practitioner_alerts.languages.wording import Language, SettingsAdvice, VerificationWording, Wording

LANGUAGES: dict[LanguageCode, Language] = {"de": GERMAN, "en": ENGLISH, "fr": FRENCH, "it": ITALIAN}
# The parts, by language, for the renderers.
WORDING: dict[LanguageCode, Wording] = {code: language.alerts for code, language in LANGUAGES.items()}
VERIFICATION: dict[LanguageCode, VerificationWording] = {
    code: language.verification for code, language in LANGUAGES.items()
}
ADVICE: dict[LanguageCode, SettingsAdvice] = {code: language.advice for code, language in LANGUAGES.items()}


def words(locale: Locale) -> Wording:
    return WORDING[language_of(locale)]


def verification_words(locale: Locale) -> VerificationWording:
    return VERIFICATION[language_of(locale)]


def advice(locale: Locale) -> SettingsAdvice:
    return ADVICE[language_of(locale)]
