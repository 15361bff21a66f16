"""Sentences the marts store, said in the report's language.

A few marts carry a short English note for readers (``marts.pilot_effects.note``: how a projection
was re-weighted, how many units were trimmed, why an estimate is missing). The marts stay in
English (they are read by notebooks and other tools too); the report recognises each note the
marts write, by its pattern, and says it again from :mod:`transforms.report.i18n`'s catalogue with
the numbers in the report's format. A note it does not recognise is shown as it is (and the French
report test, which compares every visible sentence with the English page, names it).

Representativeness statements are not taken from the mart: :func:`representativeness_statement`
composes them from the row's own columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from transforms.report import format as fmt
from transforms.report.i18n import DEFAULT_LANGUAGE, _, current_language, ngettext
from transforms.report.vocabulary import and_list, attribute_word, population_word

__all__ = ["representativeness_statement", "say_mart_note"]


def _reweighted(m: re.Match[str]) -> str:
    strata = and_list([attribute_word(s.strip()) for s in m["strata"].split(",")])
    text = _("re-weighted by {strata}; covers {share} of the eligible population").format(
        strata=strata, share=fmt.pct(float(m["coverage"]) / 100))
    if m["uncovered"]:
        n = int(m["uncovered"])
        text += ngettext("; no estimate for {n} stratum", "; no estimate for {n} strata", n).format(n=n)
    return text


def _trimmed(m: re.Match[str]) -> str:
    return _("trimmed {treated} treated and {control} control units outside the propensity bounds").format(
        treated=fmt.count(int(m["treated"])), control=fmt.count(int(m["control"])))


def _suppressed(m: re.Match[str]) -> str:
    return _("suppressed: an arm has fewer than {n} units").format(n=m["n"])


def _no_stratum(m: re.Match[str]) -> str:
    return _("no stratum of {strata} holds {n} or more pilot and comparison units").format(
        strata=and_list([attribute_word(s.strip()) for s in m["strata"].split(",")]), n=m["n"])


def _empty_population(m: re.Match[str]) -> str:
    return _("the eligible population is empty")


#: The estimators' diagnostics a note quotes after "not estimable:" / "not projectable:" that the
#: report says in its language (``transforms.pilot.projection``); others are the estimators' own
#: technical English, quoted as they are in English and pointed to in other languages.
_REASONS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(?:unit frame: )?no stratum of (?P<strata>.+?) holds (?P<n>\d+)\+ treated and control units"),
     _no_stratum),
    (re.compile(r"(?:population: )?the eligible population is empty"), _empty_population),
)


def _reason(reason: str) -> str:
    for pattern, say in _REASONS:
        m = pattern.fullmatch(reason.strip())
        if m:
            return say(m)
    if current_language() == DEFAULT_LANGUAGE:
        return reason
    return _("the estimator's diagnostic is in the note column of marts.pilot_effects")


def _not_estimable(m: re.Match[str]) -> str:
    return _("not estimable: {reason}").format(reason=_reason(m["reason"]))


def _not_projectable(m: re.Match[str]) -> str:
    return _("not projectable: {reason}").format(reason=_reason(m["reason"]))


#: The notes of ``transforms.pilot.effects_mart`` (``_projection_rows``, ``_estimator_rows``,
#: ``_did_rows``, ``_suppress``), one pattern each; the reasons after "not estimable:" are the
#: estimators' own diagnostics and stay as they are.
_NOTES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"re-weighted by (?P<strata>.+?); covers (?P<coverage>\d+(?:\.\d+)?)% of the eligible population"
                r"(?:; no estimate for (?P<uncovered>\d+) stratum/strata)?"), _reweighted),
    (re.compile(r"trimmed (?P<treated>\d+) treated and (?P<control>\d+) control units outside the propensity "
                r"bounds"), _trimmed),
    (re.compile(r"suppressed: an arm has fewer than (?P<n>\d+) units"), _suppressed),
    (re.compile(r"not estimable: (?P<reason>.+)", re.S), _not_estimable),
    (re.compile(r"not projectable: (?P<reason>.+)", re.S), _not_projectable),
)


def say_mart_note(note: object) -> str:
    """A note of ``marts.pilot_effects`` in the active language (unchanged when not recognised)."""
    text = str(note)
    for pattern, say in _NOTES:
        m = pattern.fullmatch(text)
        if m:
            return say(m)
    return text


def _who(cohort: object) -> str:
    if str(cohort) == "all pilots":
        return _("the pilots")
    return _("pilot {cohort}").format(cohort=cohort)


def representativeness_statement(row: Mapping[str, object], *, compared: int | None = None,
                                 flagged: int | None = None) -> str:
    """One row of ``marts.pilot_representativeness`` in a sentence, from its columns.

    Level rows: "pilot wave-1 holds 2.4 times the eligible population's share of site = HQ (60% of its
    members vs 25%)"; mean rows: "pilot wave-1: mean actions per week before the pilot is 3.10 vs 1.20
    in the eligible population (2.6 times; SMD +0.45)"; summary rows (``mean_abs_smd``, with the
    number of comparisons ``compared`` and of those above 0.1 ``flagged``; ``propensity_auc``).
    """
    text = _statement(row, compared, flagged)
    return text[:1].upper() + text[1:]


def _statement(row: Mapping[str, object], compared: int | None, flagged: int | None) -> str:
    who, variable = _who(row.get("cohort")), attribute_word(row.get("variable"))
    if row.get("suppressed"):
        return _("{who}: {variable} suppressed (fewer than the minimum group size)").format(who=who, variable=variable)
    kind, name = row.get("row_type"), str(row.get("variable"))
    if kind == "summary" and name == "mean_abs_smd":
        value = row.get("pilot_value")
        verdict = (_("the pilot is not representative of the eligible population") if fmt.is_number(value)
                   and value > 0.1 else _("the pilot resembles the eligible population"))
        return _("{who}: mean |SMD| over {compared} comparisons is {value} ({flagged} above {threshold}): "
                 "{verdict}").format(who=who, compared=fmt.count(compared), value=fmt.number(value),
                                     flagged=fmt.count(flagged), threshold=fmt.number(0.1, 1), verdict=verdict)
    if kind == "summary" and name == "propensity_auc":
        return _("{who}: a model tells members from the rest of the eligible population with AUC {value} "
                 "({chance} = indistinguishable)").format(who=who, value=fmt.number(row.get("pilot_value")),
                                                          chance=fmt.number(0.5, 1))
    if kind == "level":
        return _("{who} holds {ratio} times the eligible population's share of {variable} = {level} ({share} of its "
                 "members vs {population_share})").format(
            who=who, ratio=fmt.number(row.get("ratio"), 1), variable=variable,
            level=population_word(row.get("level")), share=fmt.pct(row.get("pilot_value")),
            population_share=fmt.pct(row.get("population_value")))
    return _("{who}: mean {variable} is {value} vs {population_value} in the eligible population ({ratio} times; "
             "SMD {smd})").format(who=who, variable=variable, value=fmt.number(row.get("pilot_value")),
                                  population_value=fmt.number(row.get("population_value")),
                                  ratio=fmt.number(row.get("ratio"), 1), smd=fmt.signed(row.get("smd"), 2))
