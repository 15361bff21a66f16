"""The report's languages: one message catalogue, the active language, locale-aware numbers and dates.

Every sentence, title, label and header the report shows is written in English in the code and
passed through :func:`_` (gettext, the English text is the message id); the French text lives in
one catalogue, ``transforms/report/locale/fr/LC_MESSAGES/uptake.po``, read with Babel and compiled
in memory the first time French is asked for (no ``.mo`` file is kept). English is the default.

How to write a string::

    from transforms.report.i18n import N_, _, ngettext, pgettext

    _("{share} of the workforce was active this week").format(share=fmt.pct(x))
    ngettext("{n} week", "{n} weeks", n).format(n=n)
    pgettext("table cell", "yes")            # a short word whose translation depends on where it is
    TITLES = {"a": N_("Adoption")}           # a module constant: marked here, translated where shown: _(TITLES["a"])

Whole sentences with named placeholders, never sentences glued from fragments: word order differs
between languages. A literal must be passed directly (not through a variable) so that Babel's
extractor finds it; ``tests/unit/test_report_i18n.py`` checks that every string it finds in
``transforms/`` has a French translation with the same placeholders.

The active language is a context variable, set for a block with :func:`use_language` (the report's
renderer does it from its ``language`` parameter) and restored on exit: nothing leaks between
reports, threads or tests.

Updating the catalogue after changing strings (Babel's own command line, in the environment)::

    ./dev.sh pybabel extract -F babel.cfg -k pgettext:1c,2 -o /tmp/uptake.pot transforms
    ./dev.sh pybabel update -i /tmp/uptake.pot -d transforms/report/locale -D uptake -l fr --no-fuzzy-matching

then translate the new entries of the ``.po`` file.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel import dates as babel_dates
from babel import lists as babel_lists
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "UnsupportedLanguageError",
    "_",
    "catalogue_path",
    "current_language",
    "format_date",
    "format_datetime",
    "format_list",
    "format_number",
    "format_percent",
    "french_spacing",
    "ngettext",
    "normalise_language",
    "number_separators",
    "pgettext",
    "plotly_locale",
    "translations",
    "use_language",
]

#: Languages the report is written in; the first is the default.
LANGUAGES: tuple[str, ...] = ("en", "fr")
DEFAULT_LANGUAGE = LANGUAGES[0]
#: The catalogue's gettext domain (file name ``uptake.po``).
DOMAIN = "uptake"
LOCALE_DIR = Path(__file__).with_name("locale")

#: The Babel locale that formats numbers and dates in each language (English: day-month-year dates).
_FORMAT_LOCALES = {"en": "en_GB", "fr": "fr_FR"}

_ACTIVE: ContextVar[str] = ContextVar("uptake_report_language", default=DEFAULT_LANGUAGE)


class UnsupportedLanguageError(ValueError):
    """A language the report is not written in; names it and the languages available."""

    def __init__(self, language: object) -> None:
        self.language = language
        super().__init__(f"language {language!r}: the report is written in {', '.join(LANGUAGES)} only")


def normalise_language(language: str | None) -> str:
    """``"fr"``, ``"FR"``, ``"fr_FR"``, ``"fr-CA"`` -> ``"fr"``; ``None`` -> the default (English).

    Raises :class:`UnsupportedLanguageError` for any other language.
    """
    if language is None:
        return DEFAULT_LANGUAGE
    if not isinstance(language, str):
        raise UnsupportedLanguageError(language)
    code = language.strip().replace("-", "_").split("_", 1)[0].lower()
    if code not in LANGUAGES:
        raise UnsupportedLanguageError(language)
    return code


def current_language() -> str:
    """The language strings are translated into now (``"en"`` outside :func:`use_language`)."""
    return _ACTIVE.get()


@contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Translate and format in ``language`` inside the block; the previous language comes back on exit."""
    token = _ACTIVE.set(normalise_language(language))
    try:
        yield _ACTIVE.get()
    finally:
        _ACTIVE.reset(token)


def catalogue_path(language: str) -> Path:
    """The ``.po`` file of ``language`` (English has none: its messages are the ids)."""
    return LOCALE_DIR / normalise_language(language) / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language``: read with Babel, compiled to gettext in memory once.

    Fuzzy entries are left out (they fall back to the English text, which the i18n test catches).
    """
    language = normalise_language(language)
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    if language == "fr":
        for message in catalog:
            if message.id and message.string:
                message.string = (tuple(map(french_spacing, message.string)) if isinstance(message.string, tuple)
                                  else french_spacing(message.string))
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_FRENCH_SPACES = (
    (re.compile(r" :"), "\u00a0:"),           # no-break space before a colon
    (re.compile(r" ([;!?])"), "\u202f\\1"),   # narrow no-break space before ; ! ?
    (re.compile(r" %(?!\{)"), "\u00a0%"),      # before a percent sign (not Plotly's %{...} placeholders)
    (re.compile(r"« "), "«\u00a0"),
    (re.compile(r" »"), "\u00a0»"),
)


def french_spacing(text: str) -> str:
    """French typography: the ordinary spaces the catalogue writes before ``: ; ! ? %`` and inside
    ``« »`` become no-break spaces, so a line never starts with a colon. Applied to the French
    catalogue when it is compiled (the ``.po`` file stays readable)."""
    for pattern, space in _FRENCH_SPACES:
        text = pattern.sub(space, text)
    return text


def _(message: str) -> str:
    """``message`` (English, the message id) in the active language."""
    return translations(_ACTIVE.get()).gettext(message)


def ngettext(singular: str, plural: str, n: float) -> str:
    """The singular or plural form of a message for ``n``, by the active language's CLDR rule: English
    "1 point" and "1.5 points", French "1,5 point" and "2 points" (0 and everything below 2 are
    singular). Format ``n`` in yourself: ``ngettext(...).format(n=...)``."""
    one = _locale().plural_form(abs(n)) == "one"
    return translations(_ACTIVE.get()).ngettext(singular, plural, 1 if one else 2)


def pgettext(context: str, message: str) -> str:
    """``message`` translated in ``context``, for short words translated differently in different places."""
    return translations(_ACTIVE.get()).pgettext(context, message)


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name, known to the extractor
    """Mark ``message`` for the catalogue without translating it now (module constants); translate it
    where it is shown with ``_(constant)``."""
    return message


def _locale() -> Locale:
    return Locale.parse(_FORMAT_LOCALES[_ACTIVE.get()])


def _rounded(x: float, digits: int) -> Decimal:
    """``x`` rounded exactly as Python's ``f"{x:.{digits}f}"`` does (so English output is unchanged)."""
    return Decimal(f"{x:.{max(digits, 0)}f}")


def _pattern(digits: int, base: str = "#,##0") -> str:
    return base + ("." + "0" * digits if digits > 0 else "")


def format_number(x: float, digits: int = 0, *, sign: bool = False, grouping: bool = True) -> str:
    """``x`` with ``digits`` decimals in the active language: ``1,234.5`` / ``1 234,5`` (French groups
    with a narrow no-break space). ``sign`` writes ``+`` before positive numbers."""
    base = _pattern(digits, "#,##0" if grouping else "0")
    pattern = f"+{base};-{base}" if sign else base
    return babel_numbers.format_decimal(_rounded(x, digits), format=pattern, locale=_locale(),
                                        decimal_quantization=False, group_separator=grouping)


def format_percent(share: float, digits: int = 0) -> str:
    """A share (0.125) as a percentage in the active language: ``12.5%`` / ``12,5 %``."""
    locale = _locale()
    pattern = locale.percent_formats[None].pattern.replace("#,##0", _pattern(digits))
    return babel_numbers.format_percent(_rounded(100 * share, digits) / 100, format=pattern, locale=locale,
                                        decimal_quantization=False)


def number_separators() -> str:
    """The decimal and thousands separators of the active language, as Plotly's ``layout.separators``
    wants them: ``".,"`` in English, ``", "`` (narrow no-break space) in French."""
    locale = _locale()
    return babel_numbers.get_decimal_symbol(locale) + babel_numbers.get_group_symbol(locale)


def plotly_locale() -> dict[str, object] | None:
    """The active language's Plotly locale (month and day names, separators) for ``Plotly.register``,
    built from Babel's CLDR data; ``None`` for English, plotly.js's built-in language."""
    if _ACTIVE.get() == DEFAULT_LANGUAGE:
        return None
    locale = _locale()

    def names(kind: str, width: str) -> list[str]:
        table = (babel_dates.get_month_names(width, "stand-alone", locale) if kind == "months" else
                 babel_dates.get_day_names(width, "stand-alone", locale))
        keys = range(1, 13) if kind == "months" else (6, 0, 1, 2, 3, 4, 5)  # plotly's weeks start on Sunday
        return [table[k] for k in keys]

    return {
        "moduleType": "locale",
        "name": _ACTIVE.get(),
        "dictionary": {},
        "format": {
            "days": names("days", "wide"), "shortDays": names("days", "abbreviated"),
            "months": names("months", "wide"), "shortMonths": names("months", "abbreviated"),
            "date": "%d/%m/%Y", "decimal": babel_numbers.get_decimal_symbol(locale),
            "thousands": babel_numbers.get_group_symbol(locale),
        },
    }


def format_date(day: dt.date, style: str = "long") -> str:
    """A date in the active language: ``7 December 2026`` / ``7 décembre 2026`` (``style`` is Babel's:
    ``short``, ``medium``, ``long``, ``full`` or a pattern)."""
    return babel_dates.format_date(day, format=style, locale=_locale())


def format_datetime(moment: dt.datetime) -> str:
    """A UTC time stamp in the active language: ``7 December 2026, 06:00 UTC`` / ``7 décembre 2026 à 06:00 UTC``."""
    moment = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    return _("{date}, {time} UTC").format(date=format_date(moment.date()), time=f"{moment:%H:%M}")


def format_list(items: list[str], conjunction: str = "and") -> str:
    """``items`` as a list in words: "a, b and c" / "a, b et c"; ``conjunction="or"``: "a, b or c" /
    "a, b ou c". English has no serial comma (the report's house style; CLDR's English adds one)."""
    if conjunction not in ("and", "or"):
        raise ValueError(f"conjunction {conjunction!r}: expected 'and' or 'or'")
    if len(items) <= 1:
        return "".join(items)
    if _ACTIVE.get() == "en":
        return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]
    return babel_lists.format_list(items, style="standard" if conjunction == "and" else "or", locale=_locale())
