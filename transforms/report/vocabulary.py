"""The report's words for the pipeline's own vocabulary: populations, population types, HR attributes,
actions and tiers, usage segments, lifecycle states, metric kinds.

Marts carry canonical values (``non_pilot``, ``worker_type``, ``Power user``, ``resurrecting``...);
this module says them to readers in the active language (:mod:`transforms.report.i18n`). Values it
does not know (department, site and wave names from the HR directory or the drop zone) are shown as
they are: they are the organisation's own names.
"""

from __future__ import annotations

from transforms.contracts.actions import Action, Tier, tier_actions
from transforms.report.i18n import N_, _, format_list, pgettext

__all__ = [
    "ACTION_WORDS",
    "action_word",
    "attribute_word",
    "join_clauses",
    "kind_word",
    "lifecycle_word",
    "metric_word",
    "or_list",
    "and_list",
    "population_type_word",
    "population_word",
    "segment_word",
    "staff_word",
    "tier_in_words",
    "unit_word",
]

#: How the report says that someone did an action ("people who posted, replied, shared or uploaded").
ACTION_WORDS: dict[Action, str] = {
    Action.VISIT: N_("visited"),
    Action.READ: N_("read"),
    Action.REACT: N_("reacted"),
    Action.POST: N_("posted"),
    Action.REPLY: N_("replied"),
    Action.SHARE: N_("shared"),
    Action.UPLOAD: N_("uploaded"),
    Action.JOIN: N_("joined"),
}

_POPULATIONS = {
    "non_pilot": N_("not in a pilot"),
    "(unknown)": N_("unknown"),
    "organisation": N_("whole organisation"),
    "office": N_("office"),
    "frontline": N_("frontline"),
    "all pilots": N_("all pilots"),
    "all": N_("all waves"),
    "true": N_("yes"),
    "false": N_("no"),
    "<1y": N_("<1y"),
    "1-3y": N_("1-3y"),
    "3-5y": N_("3-5y"),
    "5-10y": N_("5-10y"),
    "10y+": N_("10y+"),
}

_STAFF = {"office": N_("office staff"), "frontline": N_("frontline staff")}

_POPULATION_TYPES = {
    "organisation": N_("organisation"),
    "department": N_("department"),
    "site": N_("site"),
    "country": N_("country"),
    "worker_type": N_("worker type"),
    "pilot_wave": N_("pilot wave"),
    "pilot_cohort": N_("pilot cohort"),
    "level": N_("level"),
    "is_manager": N_("manager or not"),
    "tenure_band": N_("tenure"),
    "job_family": N_("job family"),
}

_ATTRIBUTES = {
    **_POPULATION_TYPES,
    "is_manager": N_("manager"),
    "pre_is_active": N_("active before the pilot (share of weeks)"),
    "pre_is_engaged": N_("engaged before the pilot (share of weeks)"),
    "pre_is_contributor": N_("contributed before the pilot (share of weeks)"),
    "pre_actions_total": N_("actions per week before the pilot"),
    "mean_abs_smd": N_("mean absolute standardized difference"),
    "propensity_auc": N_("how well a model tells members from the rest (AUC)"),
    "manager_id": N_("manager"),
    "email": N_("email"),
    "hire_date": N_("hire date"),
    "upn": N_("UPN"),
}

#: Units the KPI registry commonly states (an organisation's own wording is shown as it is).
_UNITS = {
    "hours": N_("hours"),
    "hour": N_("hours"),
    "days": N_("days"),
    "minutes": N_("minutes"),
    "percent": N_("percent"),
    "%": N_("percent"),
    "count": N_("count"),
    "tickets": N_("tickets"),
    "people": N_("people"),
    "euros": N_("euros"),
    "EUR": N_("euros"),
}

_SEGMENTS = {
    "Power user": N_("Power user"),
    "Habitual user": N_("Habitual user"),
    "Novice user": N_("Novice user"),
    "Low user": N_("Low user"),
    "Non-user": N_("Non-user"),
}

_LIFECYCLE = {
    "new": N_("new"),
    "returning": N_("returning"),
    "resurrecting": N_("resurrecting"),
    "dormant": N_("dormant"),
    "lapsed": N_("lapsed"),
    "never_active": N_("never active"),
}

#: The person-week and adoption-curve measures the pilot section estimates effects on; other names
#: (outcome KPIs: the organisation's own names) are shown as they are.
_METRICS = {
    "weekly_active_rate": N_("weekly active share"),
    "weekly_engaged_rate": N_("weekly engaged share"),
    "weekly_contributor_rate": N_("weekly contributor share"),
    "active_rate": N_("active share"),
    "engaged_rate": N_("engaged share"),
    "contributor_rate": N_("contributor share"),
    "is_active": N_("active in the week"),
    "is_engaged": N_("engaged in the week"),
    "is_contributor": N_("contributed in the week"),
    "actions_total": N_("actions per week"),
    "actions_contribution": N_("contributions per week"),
    "actions_reaction": N_("reactions per week"),
    "actions_passive": N_("reads and visits per week"),
}

_KINDS = {
    "activity": N_("activity"),
    "output": N_("output"),
    "outcome": N_("outcome"),
    "link": N_("link"),
    "prerequisite": N_("prerequisite"),
    "perception": N_("perception"),
}


def _say(words: dict[str, str], value: object) -> str:
    text = str(value)
    return _(words[text]) if text in words else text


def population_word(population: object) -> str:
    """A population as readers name it ("non_pilot" -> "not in a pilot"); other names as they are."""
    return _say(_POPULATIONS, population)


def staff_word(worker_type: object) -> str:
    """The people of a worker type, as the subject of a sentence ("office" -> "office staff")."""
    text = str(worker_type)
    return _(_STAFF[text]) if text in _STAFF else _("{worker_type} staff").format(worker_type=text)


def population_type_word(population_type: object) -> str:
    """A population type as a noun ("worker_type" -> "worker type")."""
    text = str(population_type)
    return _(_POPULATION_TYPES[text]) if text in _POPULATION_TYPES else text.replace("_", " ")


def attribute_word(attribute: object) -> str:
    """An HR attribute or pre-period measure of the pilot comparison ("pre_is_active" -> "active before
    the pilot (share of weeks)")."""
    text = str(attribute)
    return _(_ATTRIBUTES[text]) if text in _ATTRIBUTES else text.replace("_", " ")


def segment_word(segment: object) -> str:
    """A usage segment ("Power user")."""
    return _say(_SEGMENTS, segment)


def lifecycle_word(state: object) -> str:
    """A lifecycle state ("resurrecting")."""
    return _say(_LIFECYCLE, state)


def unit_word(unit: object) -> str:
    """A KPI's unit from the registry ("hours" -> "hours" / "heures"); other wording as it is."""
    return _say(_UNITS, unit)


def metric_word(metric: object) -> str:
    """A measure the pilot section names ("weekly_active_rate" -> "weekly active share"); KPI names as they are."""
    return _say(_METRICS, metric)


def kind_word(kind: object) -> str:
    """A metric kind ("activity", "outcome"...)."""
    return _say(_KINDS, getattr(kind, "value", kind))


def action_word(action: Action | str) -> str:
    """The past tense of an action ("posted")."""
    return _(ACTION_WORDS[Action(action)])


def or_list(items: list[str]) -> str:
    """"a, b or c" / "a, b ou c"."""
    return format_list(items, "or")


def and_list(items: list[str]) -> str:
    """"a, b and c" / "a, b et c"."""
    return format_list(items, "and")


def join_clauses(clauses: list[str]) -> str:
    """Clauses of one sentence joined by a semicolon, spaced as the language wants ("a; b" / "a ; b")."""
    return pgettext("between two clauses of a sentence", "; ").join(clauses)


def tier_in_words(*tiers: Tier | str) -> str:
    """The actions of ``tiers`` as the report says them, from the vocabulary: ``tier_in_words("contribution")``
    is "posted, replied, shared or uploaded"."""
    return or_list([action_word(a) for t in tiers for a in tier_actions(t)])
