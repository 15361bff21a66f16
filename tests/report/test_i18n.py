"""The report's message catalogue, active language and locale-aware formatting (transforms.report.i18n)."""

from __future__ import annotations

import datetime as dt
import re
import string
import threading
import tokenize
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from transforms.report import i18n
from transforms.report.i18n import _, current_language, ngettext, use_language

ROOT = Path(__file__).resolve().parents[2]
NNBSP, NBSP = "\u202f", "\u00a0"


def test_english_is_the_default_and_the_block_restores_it() -> None:
    assert current_language() == "en"
    with use_language("fr_FR") as lang:
        assert lang == "fr" and current_language() == "fr"
        with use_language("en"):
            assert current_language() == "en"
        assert current_language() == "fr"
    assert current_language() == "en"


def test_the_language_does_not_leak_after_an_error_or_into_another_thread() -> None:
    with pytest.raises(RuntimeError), use_language("fr"):
        raise RuntimeError("boom")
    assert current_language() == "en"
    seen: list[str] = []
    with use_language("fr"):
        worker = threading.Thread(target=lambda: seen.append(current_language()))
        worker.start()
        worker.join()
    assert seen == ["en"]


@pytest.mark.parametrize("bad", ["de", "", "klingon", 3])
def test_an_unsupported_language_is_a_typed_error_naming_it(bad: object) -> None:
    with pytest.raises(i18n.UnsupportedLanguageError, match="written in en, fr only"):
        i18n.normalise_language(bad)  # type: ignore[arg-type]


def test_messages_are_translated_only_inside_a_french_block() -> None:
    msg = "{date}, {time} UTC"
    assert _(msg) == msg
    with use_language("fr"):
        assert _(msg) == "{date} à {time} UTC"
        assert _("a sentence nobody translated") == "a sentence nobody translated"


def test_plural_rules_follow_each_language() -> None:
    # French treats 0 and 1 as singular, English only 1: checked on the gettext rule of each catalogue.
    en = i18n.translations("en")
    fr = i18n.translations("fr")
    assert en.ngettext("s", "p", 0) == "p" and en.ngettext("s", "p", 1) == "s"
    assert [fr.plural(n) for n in (0, 1, 2, 1000)] == [0, 0, 1, 1]  # the catalogue's Plural-Forms rule
    assert ngettext("{n} week", "{n} weeks", 1) == "{n} week"
    assert ngettext("{n} week", "{n} weeks", 2.5) == "{n} weeks"


def test_numbers_percent_and_dates_in_english() -> None:
    assert i18n.format_number(1234.5, 1) == "1,234.5"
    assert i18n.format_number(1234) == "1,234"
    assert i18n.format_number(1.25, 1, sign=True) == "+1.2"   # rounded as Python rounds (half-even on the float)
    assert i18n.format_number(-0.44, 1, sign=True) == "-0.4"
    assert i18n.format_percent(0.125, 1) == "12.5%"
    assert i18n.format_percent(0.423) == "42%"
    assert i18n.format_date(dt.date(2026, 12, 7)) == "7 December 2026"
    assert i18n.format_datetime(dt.datetime(2026, 12, 7, 6, 5, tzinfo=dt.UTC)) == "7 December 2026, 06:05 UTC"


def test_numbers_percent_and_dates_the_french_way() -> None:
    with use_language("fr"):
        assert i18n.format_number(1234) == f"1{NNBSP}234"
        assert i18n.format_number(1234.5, 1) == f"1{NNBSP}234,5"
        assert i18n.format_number(2.25, 2, sign=True) == "+2,25"
        assert i18n.format_percent(0.125, 1) == f"12,5{NBSP}%"
        assert i18n.format_percent(0.0, 0) == f"0{NBSP}%"
        assert i18n.format_date(dt.date(2026, 12, 7)) == "7 décembre 2026"
        assert i18n.format_datetime(dt.datetime(2026, 12, 7, 6, 5, tzinfo=dt.UTC)) == "7 décembre 2026 à 06:05 UTC"


# ------------------------------------------------------------------------------------ the catalogue


def _fields(text: str) -> set[str]:
    """The ``{name}`` placeholders of a message, and Plotly's ``%{x}`` ones without their format
    (``%{x|%Y-%m-%d}`` may become ``%{x|%d/%m/%Y}`` in another language)."""
    return {name.split("|")[0] for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _catalogue():
    with i18n.catalogue_path("fr").open("rb") as po:
        return read_po(po, locale="fr", domain=i18n.DOMAIN)


Message = tuple[str | None, str | tuple[str, str]]  # (context, id or (singular, plural))


def _code_messages() -> dict[Message, list[str]]:
    """Every message in ``transforms/`` as Babel's extractor finds it (the keywords i18n exposes)."""
    keywords = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
    found: dict[Message, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT / "transforms"), method_map=[("**.py", "python")], keywords=keywords):
        found.setdefault((context, message), []).append(f"transforms/{filename}:{lineno}")
    return found


def _singular(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def test_every_message_in_the_code_has_a_french_translation_with_the_same_placeholders() -> None:
    catalog = _catalogue()
    missing, fuzzy, placeholders = [], [], []
    for (context, msgid), where in _code_messages().items():
        entry = catalog.get(_singular(msgid), context=context)
        if entry is None or not (entry.string if isinstance(entry.string, str) else all(entry.string)):
            missing.append(f"{where[0]}: {msgid!r}")
            continue
        if entry.fuzzy:
            fuzzy.append(f"{where[0]}: {msgid!r}")
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strs = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set().union(*(_fields(m) for m in ids))
        for s in strs:
            if _fields(s) - expected or (len(ids) == 1 and _fields(s) != expected):
                placeholders.append(f"{where[0]}: {msgid!r} -> {s!r}")
    assert not missing, f"{len(missing)} message(s) without a French translation:\n" + "\n".join(missing)
    assert not fuzzy, "fuzzy French translations (not used until checked):\n" + "\n".join(fuzzy)
    assert not placeholders, "French translations whose {placeholders} differ:\n" + "\n".join(placeholders)


def test_the_catalogue_keeps_no_translation_the_code_no_longer_uses() -> None:
    used = {(context, _singular(msgid)) for context, msgid in _code_messages()}
    stale = [m.id for m in _catalogue() if m.id and (m.context, _singular(m.id)) not in used]
    assert not stale, "entries of uptake.po no string in transforms/ uses (run pybabel update):\n" + "\n".join(
        map(repr, stale))


def test_no_message_is_hidden_inside_an_f_string() -> None:
    """Babel's extractor does not look inside f-strings (Python 3.11), so ``_()`` there is never translated."""
    hidden = []
    for path in sorted((ROOT / "transforms").rglob("*.py")):
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if (token.type == tokenize.STRING and re.match(r"^[rbRB]*[fF]", token.string)
                        and re.search(r"\b(_|N_|ngettext|pgettext)\(", token.string)):
                    hidden.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    assert not hidden, "messages inside f-strings (move them out):\n" + "\n".join(hidden)


def test_french_typography_puts_no_break_spaces_before_high_punctuation() -> None:
    assert i18n.french_spacing("Attention : a ; b ? 95 % %{y} « c »") == (
        f"Attention{NBSP}: a{NNBSP}; b{NNBSP}? 95{NBSP}% %{{y}} «{NBSP}c{NBSP}»")
    with use_language("fr"):
        assert _("{date}, {time} UTC") == "{date} à {time} UTC"
        assert NBSP + ":" in _("{what}: not available yet ({table} is not in the warehouse).")
