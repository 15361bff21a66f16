"""One-line readings: each chart of the report says, in plain words, what its numbers show.

Every function takes the same tidy table as the chart beside it (never a different source), reads
only publishable cells (suppressed and small cells are ignored) and returns one sentence. When
there is nothing to say (no publishable cell) it says that instead of guessing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from transforms.privacy import DEFAULT_MIN_GROUP_SIZE
from transforms.report import format as fmt
from transforms.report.charts import publishable
from transforms.report.headline import population_value, state_equivalence
from transforms.report.i18n import N_, _, ngettext, pgettext
from transforms.report.mart_text import say_mart_note
from transforms.report.vocabulary import (
    and_list,
    join_clauses,
    metric_word,
    population_type_word,
    staff_word,
    tier_in_words,
    unit_word,
)

__all__ = [
    "comparison_week",
    "reading_adoption",
    "reading_community_outputs",
    "reading_coverage",
    "reading_digital_divide",
    "reading_event_study",
    "reading_frontline_gap_from_curve",
    "reading_kpi_link",
    "reading_kpi_trend",
    "reading_lifecycle",
    "reading_manager_relay",
    "reading_match_rates",
    "reading_never_active",
    "reading_pilot_effects",
    "reading_pilot_power",
    "reading_pilot_projection",
    "reading_population_gap",
    "reading_representativeness",
    "reading_retention",
    "reading_usage_segments",
]

_NOTHING = N_("No publishable figures for this chart yet (groups below the minimum size are hidden).")


def comparison_week(weeks: Sequence[dt.date], week_start: dt.date, lookback: int = 4) -> dt.date | None:
    """The week to compare ``week_start`` with: ``lookback`` weeks earlier if present, else the
    earliest week before it, else ``None``."""
    target = week_start - dt.timedelta(weeks=lookback)
    earlier = sorted(w for w in weeks if w is not None and w < week_start)
    if not earlier:
        return None
    at_or_before = [w for w in earlier if w <= target]
    return at_or_before[-1] if at_or_before else earlier[0]


def reading_adoption(curve: pl.DataFrame, week_start: dt.date, *,
                     min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"42.0% of the 1,980 eligible employees were active in week 14, up 1.2 points on week 13; 63.0% ..."."""
    org = curve.filter(pl.col("population_type") == "organisation")
    active = population_value(org, week_start, "organisation", "organisation", "active_rate",
                              min_group_size=min_group_size)
    if active is None:
        return _(_NOTHING)
    eligible = population_value(org, week_start, "organisation", "organisation", "eligible",
                                min_group_size=min_group_size)
    ever = population_value(org, week_start, "organisation", "organisation", "ever_active_rate",
                            min_group_size=min_group_size)
    prev_weeks = [w for w in org["week_start"].unique().to_list() if w < week_start]
    prev = max(prev_weeks) if prev_weeks else None
    before = population_value(org, prev, "organisation", "organisation", "active_rate", min_group_size=min_group_size)
    wk = fmt.week_label(week_start)
    text = _("{share} of the {eligible} eligible employees were active in {week}").format(
        share=fmt.pct(active, 1), eligible=fmt.count(eligible), week=wk)
    if before is not None:
        d = 100 * (active - before)
        then = fmt.week_label(prev, relative_to=week_start)
        if round(d, 1) == 0:
            text += _(", level with {week}").format(week=then)
        elif d > 0:
            text += _(", up {points} on {week}").format(points=fmt.points(d, 1), week=then)
        else:
            text += _(", down {points} on {week}").format(points=fmt.points(d, 1), week=then)
    if ever is not None:
        text += _("; {share} have been active at least once").format(share=fmt.pct(ever, 1))
    text += "."
    said_once = state_equivalence(org).sentence()
    if said_once:
        return f"{text} {said_once}"
    engaged = population_value(org, week_start, "organisation", "organisation", "engaged_rate",
                               min_group_size=min_group_size)
    contrib = population_value(org, week_start, "organisation", "organisation", "contributor_rate",
                               min_group_size=min_group_size)
    if engaged is not None and contrib is not None:
        values = {"engaged": fmt.pct(engaged, 1), "contributors": fmt.pct(contrib, 1),
                  "actions": tier_in_words("contribution")}
        text += " " + (_("Most of the activity is reading: {engaged} reacted or contributed and {contributors} "
                         "contributed ({actions}).") if active - engaged > engaged else
                       _("{engaged} reacted or contributed and {contributors} contributed ({actions}).")
                       ).format(**values)
    return text


def _week_cells(curve: pl.DataFrame, week_start: dt.date, population_type: str, metric: str,
                min_group_size: int) -> pl.DataFrame:
    return publishable(
        curve.filter((pl.col("week_start") == week_start) & (pl.col("population_type") == population_type)),
        size_columns=["eligible"], min_group_size=min_group_size,
    ).filter(pl.col(metric).is_not_null())


def reading_population_gap(curve: pl.DataFrame, week_start: dt.date, population_type: str, *,
                           metric: str = "active_rate", min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """Which population of a type lags: "By site, Plant B lags: 12% active in week 14, 30 points below HQ (42%)."

    Compares the lowest and highest publishable populations of ``population_type`` that week.
    """
    cells = _week_cells(curve, week_start, population_type, metric, min_group_size).sort(metric, "population")
    by = population_type_word(population_type)
    if cells.height < 2:
        return _("Fewer than two groups by {population_type} are large enough to compare this week.").format(
            population_type=by)
    lo, hi = cells.row(0, named=True), cells.row(-1, named=True)
    word = {"active_rate": pgettext("after a share of people", "active"),
            "engaged_rate": pgettext("after a share of people", "engaged"),
            "contributor_rate": pgettext("after a share of people", "contributing")}.get(metric, metric)
    gap = 100 * (hi[metric] - lo[metric])
    lo_name, hi_name = fmt.population_label(lo["population"]), fmt.population_label(hi["population"])
    return (_("By {population_type}, {low} lags: {low_share} {state} in {week}, {gap} below {high} ({high_share}); "
              "{groups} groups by {population_type} are shown.")
            .format(population_type=by, low=lo_name, low_share=fmt.pct(lo[metric]), state=word,
                    week=fmt.week_label(week_start), gap=fmt.points(gap), high=hi_name,
                    high_share=fmt.pct(hi[metric]), groups=cells.height))


def reading_digital_divide(divide: pl.DataFrame, week_start: dt.date, *,
                           min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"Frontline staff are 18 points behind office staff this week, down from 24 in week 10."

    Reads ``marts.digital_divide`` (``gap_points`` = reference minus focus active rate, in points)
    and compares with :func:`comparison_week` (four weeks earlier when available).
    """
    rows = divide.filter(pl.col("week_start").is_not_null())
    if "scope" in rows.columns:
        rows = rows.filter(pl.col("scope") == "week")
    rows = publishable(rows, size_columns=["reference_people", "focus_people"],
                       min_group_size=min_group_size).filter(pl.col("gap_points").is_not_null())
    now = rows.filter(pl.col("week_start") == week_start)
    if now.height == 0:
        return _("The two groups of the digital divide are not both large enough to compare this week.")
    r = now.row(0, named=True)
    ref, foc = str(r["reference"]), str(r["focus"])
    text = _gap_sentence(foc, ref, r["gap_points"])
    then_week = comparison_week(rows["week_start"].to_list(), week_start)
    if then_week is not None:
        then = rows.filter(pl.col("week_start") == then_week)["gap_points"][0]
        text += _gap_trend(abs(r["gap_points"]) - abs(then), then, then_week, week_start)
    return text + "."


def _gap_trend(change: float, then: float, then_week: dt.date, week_start: dt.date) -> str:
    values = {"gap": fmt.points(then), "week": fmt.week_label(then_week, relative_to=week_start)}
    if round(change) == 0:
        return _(", unchanged from {gap} in {week}").format(**values)
    if change < 0:
        return _(", down from {gap} in {week}").format(**values)
    return _(", up from {gap} in {week}").format(**values)


def _gap_sentence(focus: str, reference: str, gap_points: float) -> str:
    values = {"focus": staff_word(focus), "reference": staff_word(reference), "gap": fmt.points(gap_points)}
    if round(gap_points) == 0:
        text = _("{focus} are level with {reference} this week").format(**values)
    elif gap_points > 0:
        text = _("{focus} are {gap} behind {reference} this week").format(**values)
    else:
        text = _("{focus} are {gap} ahead of {reference} this week").format(**values)
    return text[:1].upper() + text[1:]


def reading_frontline_gap_from_curve(curve: pl.DataFrame, week_start: dt.date, *,
                                     min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """The digital-divide sentence from the adoption curve's worker-type cells (when the divide mart is absent)."""
    def gap(week: dt.date | None) -> float | None:
        o = population_value(curve, week, "worker_type", "office", "active_rate", min_group_size=min_group_size)
        f = population_value(curve, week, "worker_type", "frontline", "active_rate", min_group_size=min_group_size)
        return None if o is None or f is None else 100 * (o - f)

    now = gap(week_start)
    if now is None:
        return _("Office and frontline staff are not both large enough groups to compare this week.")
    text = _gap_sentence("frontline", "office", now)
    weeks = curve.filter(pl.col("population_type") == "worker_type")["week_start"].unique().to_list()
    then_week = comparison_week(weeks, week_start)
    then = gap(then_week)
    if then is not None:
        text += _gap_trend(abs(now) - abs(then), then, then_week, week_start)
    return text + "."


def reading_usage_segments(shares: pl.DataFrame, week_start: dt.date, *,
                           min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"In week 14, 21% of eligible employees have a usage habit (Power or Habitual users); 40% are non-users."."""
    rows = publishable(
        shares.filter((pl.col("population_type") == "organisation") & (pl.col("week_start") == week_start)),
        size_columns=["eligible"], min_group_size=min_group_size,
    ).filter(pl.col("share").is_not_null())
    if rows.height == 0:
        return _(_NOTHING)
    share = dict(zip(rows["segment"].to_list(), rows["share"].to_list(), strict=True))
    habit = share.get("Power user", 0.0) + share.get("Habitual user", 0.0)
    return _("In {week}, {habit} of eligible employees have a usage habit (Power or Habitual users, active in at "
             "least 9 of the last 12 weeks); {non_users} did nothing at all in those 12 weeks.").format(
        week=fmt.week_label(week_start), habit=fmt.pct(habit), non_users=fmt.pct(share.get("Non-user")))


def reading_lifecycle(shares: pl.DataFrame, week_start: dt.date, *,
                      min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"In week 14, 35 people were active for the first time, 20 came back after a pause and 48 went dormant."."""
    rows = publishable(
        shares.filter((pl.col("population_type") == "organisation") & (pl.col("week_start") == week_start)),
        size_columns=["eligible"], min_group_size=min_group_size,
    )
    if rows.height == 0:
        return _(_NOTHING)
    people = dict(zip(rows["state"].to_list(), rows["people"].to_list(), strict=True))

    def n(state: str) -> str:
        v = people.get(state)
        return ngettext("{n} person", "{n} people", v if fmt.is_number(v) else 2).format(n=fmt.count(v))

    return _("In {week}, {new} used the platform for the first time, {resurrecting} came back after a pause and "
             "{dormant} went dormant (active the week before, not this week).").format(
        week=fmt.week_label(week_start), new=n("new"), resurrecting=n("resurrecting"), dormant=n("dormant"))


def reading_retention(triangle: pl.DataFrame, *, weeks_since: int = 4, metric: str = "retention_on",
                      min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"Of the people who started using the platform, 46% were active again 4 weeks after their first week."

    The average over cohorts is weighted by each cohort's eligible members at that week.
    """
    rows = triangle
    if "population" in rows.columns:
        rows = rows.filter(pl.col("population") == "organisation")
    if "cohort_type" in rows.columns and rows.height:
        types = rows["cohort_type"].unique(maintain_order=True).to_list()
        rows = rows.filter(pl.col("cohort_type") == ("first_active_week" if "first_active_week" in types else types[0]))
    rows = publishable(rows.filter(pl.col("weeks_since") == weeks_since), size_columns=["eligible"],
                       min_group_size=min_group_size).filter(pl.col(metric).is_not_null())
    if rows.height == 0:
        return ngettext("No cohort is old enough (and large enough) to show retention after {weeks} week yet.",
                        "No cohort is old enough (and large enough) to show retention after {weeks} weeks yet.",
                        weeks_since).format(weeks=weeks_since)
    share = float((rows[metric] * rows["eligible"]).sum() / rows["eligible"].sum())
    return ngettext("Across {cohorts} weekly cohort, {share} of people were active again {weeks} weeks after their "
                    "first active week.",
                    "Across {cohorts} weekly cohorts, {share} of people were active again {weeks} weeks after "
                    "their first active week.", rows.height).format(cohorts=rows.height, share=fmt.pct(share),
                                                                    weeks=weeks_since)


def reading_never_active(non_users: pl.DataFrame, population_type: str, *,
                         min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"23% of eligible employees (456 people) have never been active; the highest share is frontline (41%)."."""
    org = publishable(non_users.filter(pl.col("population_type") == "organisation"), size_columns=["eligible"],
                      min_group_size=min_group_size)
    cells = publishable(non_users.filter(pl.col("population_type") == population_type), size_columns=["eligible"],
                        min_group_size=min_group_size).filter(pl.col("never_active_rate").is_not_null())
    parts = []
    if org.height and org["never_active_rate"][0] is not None:
        r = org.row(0, named=True)
        values = {"share": fmt.pct(r["never_active_rate"]), "people": fmt.count(r["never_active"])}
        if r.get("as_of_week"):
            parts.append(_("{share} of eligible employees ({people} people) have never been active by {week}").format(
                week=fmt.week_label(r["as_of_week"]), **values))
        else:
            parts.append(_("{share} of eligible employees ({people} people) have never been active").format(**values))
    if cells.height:
        top = cells.sort("never_active_rate", descending=True).row(0, named=True)
        parts.append(_("the highest share by {population_type} is {population} ({share})").format(
            population_type=population_type_word(population_type), population=fmt.population_label(top["population"]),
            share=fmt.pct(top["never_active_rate"])))
    if not parts:
        return _(_NOTHING)
    text = join_clauses(parts)
    return text[0].upper() + text[1:] + "."


def reading_manager_relay(relay: pl.DataFrame, week_start: dt.date, *, effect: pl.DataFrame | None = None,
                          min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"Team members were 9 points more likely to be active after a week in which their manager was active
    (52% vs 43%, all weeks pooled); adjusted for team size, department, worker type and week: +6.1 points
    (95% CI 3.0 to 9.2). An association, not proof that managers cause it."

    Reads the pooled row of ``marts.manager_relay`` (member-weeks of all weeks), else the mean of the
    publishable weeks up to ``week_start``; ``effect`` is ``marts.manager_relay_effect`` (the
    adjusted linear-probability estimate), when available.
    """
    rows = relay
    if "scope" in rows.columns and rows.filter(pl.col("scope") == "pooled").height:
        rows, when = rows.filter(pl.col("scope") == "pooled"), _("all weeks pooled")
    else:
        rows = rows.filter(pl.col("week_start").is_not_null() & (pl.col("week_start") <= week_start))
        when = _("average of the weeks shown")
    rows = publishable(rows, size_columns=["members_manager_active", "members_manager_inactive"],
                       min_group_size=min_group_size).filter(
        pl.col("rate_manager_active").is_not_null() & pl.col("rate_manager_inactive").is_not_null())
    if rows.height == 0:
        return _("Not enough team members in both arms (manager active / not active the week before) to compare.")
    on, off = float(rows["rate_manager_active"].mean()), float(rows["rate_manager_inactive"].mean())
    d = 100 * (on - off)
    values = {"points": fmt.points(d), "on": fmt.pct(on), "off": fmt.pct(off), "when": when}
    text = (_("Team members were {points} more likely to be active after a week in which their manager was active "
              "({on} vs {off}, {when})") if d >= 0 else
            _("Team members were {points} less likely to be active after a week in which their manager was active "
              "({on} vs {off}, {when})")).format(**values)
    if effect is not None and effect.height and "estimate_pp" in effect.columns:
        e = effect.row(0, named=True)
        if fmt.is_number(e.get("estimate_pp")):
            text += _("; adjusted for the week, team size, department, worker type and pilot status: {estimate} points "
                      "(95% CI {low} to {high})").format(estimate=fmt.signed(e["estimate_pp"]),
                                                         low=fmt.signed(e["ci_low_pp"]),
                                                         high=fmt.signed(e["ci_high_pp"]))
    return text + ". " + _("An association, not proof that managers cause it.")


def reading_representativeness(rep: pl.DataFrame, smd: str, label: str, *, threshold: float = 0.1) -> str:
    """"7 of 24 attributes differ noticeably between the pilot and the organisation (|SMD| > 0.1); the largest is ..."."""
    rows = rep.filter(pl.col(smd).is_not_null() & pl.col(smd).is_finite())
    if rows.height == 0:
        return _("No attribute could be compared between the pilot and the organisation.")
    flagged = rows.filter(pl.col(smd).abs() > threshold)
    top = rows.sort(pl.col(smd).abs(), descending=True).row(0, named=True)
    values = {"flagged": flagged.height, "compared": rows.height, "threshold": fmt.significant(threshold, 2),
              "largest": top[label], "smd": fmt.signed(top[smd], 2)}
    if flagged.height == 0:
        return _("The pilot looks like the organisation: no attribute of {compared} differs by more than "
                 "{threshold} standardized units (largest: {largest}, {smd}).").format(**values)
    return ngettext("{flagged} of {compared} attributes differs noticeably between the pilot and the organisation "
                    "(|SMD| > {threshold}); the largest is {largest} ({smd}), so a naive comparison is biased.",
                    "{flagged} of {compared} attributes differ noticeably between the pilot and the organisation "
                    "(|SMD| > {threshold}); the largest is {largest} ({smd}), so a naive comparison is biased.",
                    flagged.height).format(**values)


def reading_pilot_effects(effects: pl.DataFrame, outcome: str, *, unit: str, scale: float = 1.0,
                          digits: int = 1, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"On weekly_active_rate (all waves pooled), the naive gap is +24.0 points; corrected for selection
    (staggered DiD) it is +9.8 points (95% CI +6.1 to +13.5): the pilot raised it. The other corrected
    estimates range from +9.2 to +10.2."

    ``effects``: the effects view (outcome, cohort, method, estimate, ci_low, ci_high,
    naive_difference). ``scale`` converts the table's units to the reading's (100 for rates shown
    in points). The quoted estimate is the pooled staggered DiD when present, else the first
    cohort's doubly robust (aipw), then ipw, then matching.
    """
    from transforms.report.pilot_views import PREFERRED_METHODS, method_label

    rows = publishable(effects.filter(pl.col("outcome") == outcome), size_columns=["n_treated", "n_control"],
                       min_group_size=min_group_size).filter(pl.col("estimate").is_not_null()
                                                            & pl.col("estimate").is_finite())
    if "cohort" not in rows.columns:
        rows = rows.with_columns(pl.lit("pilot").alias("cohort"))
    name = metric_word(outcome)
    if rows.height == 0:
        return _("No publishable estimate for {outcome} (an arm is below the minimum group size, or none could be "
                 "made).").format(outcome=name)
    adjusted = rows.filter(pl.col("method") != "naive")
    if adjusted.height == 0:
        return _("Only the naive difference is available for {outcome}; it is biased by how the pilot was "
                 "chosen.").format(outcome=name)
    rank = {m: i for i, m in enumerate(PREFERRED_METHODS)}
    a = (adjusted.with_columns((pl.col("cohort") != "all").alias("__not_all"),
                               pl.col("method").replace_strict(rank, default=len(rank), return_dtype=pl.Int32)
                               .alias("__rank"))
         .sort("__not_all", "__rank").row(0, named=True))
    naive_rows = rows.filter((pl.col("method") == "naive") & (pl.col("cohort") == a["cohort"]))
    naive = naive_rows["estimate"][0] if naive_rows.height else a.get("naive_difference")
    est, lo, hi = (None if v is None else scale * v for v in (a["estimate"], a["ci_low"], a["ci_high"]))
    verdict = (_("the interval includes zero: no detectable effect") if lo is not None and hi is not None
               and lo <= 0 <= hi else _("the pilot raised it") if est > 0 else _("the pilot lowered it"))
    cohort = _("all waves pooled") if a["cohort"] == "all" else _("cohort {cohort}").format(cohort=a["cohort"])
    values = {"outcome": name, "cohort": cohort, "method": method_label(a["method"]),
              "estimate": fmt.signed(est, digits), "unit": unit, "verdict": verdict,
              "naive": fmt.signed(scale * naive, digits) if fmt.is_number(naive) else fmt.na(),
              "low": fmt.signed(lo, digits), "high": fmt.signed(hi, digits)}
    with_ci = lo is not None and hi is not None
    if fmt.is_number(naive):
        text = (_("On {outcome} ({cohort}), the naive gap is {naive} {unit}; corrected for selection ({method}) it "
                  "is {estimate} {unit} (95% CI {low} to {high}): {verdict}.") if with_ci else
                _("On {outcome} ({cohort}), the naive gap is {naive} {unit}; corrected for selection ({method}) it "
                  "is {estimate} {unit}: {verdict}."))
    else:
        text = (_("On {outcome} ({cohort}), corrected for selection ({method}) it is {estimate} {unit} (95% CI "
                  "{low} to {high}): {verdict}.") if with_ci else
                _("On {outcome} ({cohort}), corrected for selection ({method}) it is {estimate} {unit}: {verdict}."))
    text = text.format(**values)
    others = [scale * v for v in adjusted["estimate"].to_list()]
    if len(others) > 1:
        text += " " + _("Across cohorts and methods, the {n} corrected estimates range from {low} to {high}.").format(
            n=len(others), low=fmt.signed(min(others), digits), high=fmt.signed(max(others), digits))
    return text


def reading_event_study(es: pl.DataFrame, rel: str, est: str, *, unit: str, scale: float = 1.0,
                        pretrend_p: float | None = None, pretrend_gap: float | None = None,
                        pretrend_weeks: int | None = None, alpha: float = 0.05,
                        small_share: float = 0.25) -> str:
    """"Before the start, pilot and comparison groups moved together (the gap moved +0.3 points over 7
    weeks, pre-trend test p = 0.41); 8 weeks in, the effect is +9.1 points (95% CI 5.0 to 13.2)."

    ``pretrend_gap`` (the table's unit; ``scale`` applies) is how far the pilot-minus-comparison gap
    moved over the ``pretrend_weeks`` pre-period weeks; it is stated next to the p-value, so that a
    tiny but significant drift on a big sample does not read like a broken design: a drift below
    ``small_share`` of the latest effect is called small next to it.
    """
    rows = es.filter(pl.col(est).is_not_null()).sort(rel)
    if rows.height == 0:
        return _(_NOTHING)
    pre = rows.filter(pl.col(rel) < 0)
    last = rows.row(-1, named=True)
    effect = scale * last[est] if last[rel] >= 0 else None
    parts = []
    if pretrend_p is not None:
        p_text = (_("p < {threshold}").format(threshold=fmt.number(0.01, 2)) if pretrend_p < 0.01 else
                  _("p = {p}").format(p=fmt.number(pretrend_p, 2)))
        gap = scale * pretrend_gap if fmt.is_number(pretrend_gap) else None
        values = {"p": p_text, "unit": unit, "gap": fmt.signed(gap), "weeks": pretrend_weeks,
                  "effect": fmt.signed(effect)}
        if pretrend_p >= alpha:
            if gap is None:
                parts.append(_("Before the start, pilot and comparison groups moved together (pre-trend test "
                               "{p})").format(**values))
            elif pretrend_weeks:
                parts.append(ngettext(
                    "Before the start, pilot and comparison groups moved together (the gap moved {gap} {unit} over "
                    "{weeks} week, pre-trend test {p})",
                    "Before the start, pilot and comparison groups moved together (the gap moved {gap} {unit} over "
                    "{weeks} weeks, pre-trend test {p})", pretrend_weeks).format(**values))
            else:
                parts.append(_("Before the start, pilot and comparison groups moved together (the gap moved {gap} "
                               "{unit}, pre-trend test {p})").format(**values))
        elif gap is None:
            parts.append(_("Careful: before the start, pilot and comparison groups already moved apart (pre-trend "
                           "test {p}), so the difference-in-differences assumption is doubtful").format(**values))
        else:
            text = (ngettext("Careful: before the start, the gap between pilot and comparison groups already moved "
                             "by {gap} {unit} over {weeks} week (pre-trend test {p})",
                             "Careful: before the start, the gap between pilot and comparison groups already moved "
                             "by {gap} {unit} over {weeks} weeks (pre-trend test {p})", pretrend_weeks)
                    if pretrend_weeks else
                    _("Careful: before the start, the gap between pilot and comparison groups already moved by "
                      "{gap} {unit} (pre-trend test {p})")).format(**values)
            if effect is not None and abs(gap) < small_share * abs(effect):
                text += _(": a real but small drift next to the effect of {effect} {unit}, so the "
                          "difference-in-differences estimate is off by about that much at most").format(**values)
            else:
                text += _(", so the difference-in-differences assumption is doubtful")
            parts.append(text)
    elif pre.height:
        outside = pre.filter((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).height
        parts.append(ngettext("Before the start, {outside} of {weeks} weekly estimate differs from zero",
                              "Before the start, {outside} of {weeks} weekly estimates differ from zero",
                              pre.height).format(outside=outside, weeks=pre.height))
    if effect is not None:
        parts.append(ngettext("{weeks} week in, the effect is {effect} {unit} (95% CI {low} to {high})",
                              "{weeks} weeks in, the effect is {effect} {unit} (95% CI {low} to {high})",
                              last[rel]).format(weeks=last[rel], effect=fmt.signed(effect), unit=unit,
                                                low=fmt.signed(scale * last["ci_low"]),
                                                high=fmt.signed(scale * last["ci_high"])))
    return join_clauses(parts) + "." if parts else _(_NOTHING)


def reading_pilot_projection(proj: pl.DataFrame, outcome: str, *, unit: str, scale: float = 1.0) -> str:
    """"Projected onto the whole eligible population, the effect of wave-1 on X would be +6.2 points (95% CI
    +3.0 to +9.4), against +9.8 among its own members."; cohorts that could not be projected say why."""
    rows = proj.filter(pl.col("outcome") == outcome)
    if "cohort" not in rows.columns:
        rows = rows.with_columns(pl.lit("the pilot").alias("cohort"))
    parts, reasons = [], []
    for cohort in rows["cohort"].unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("cohort") == cohort)
        pop = part.filter(pl.col("scope") == "population")
        pilot = part.filter(pl.col("scope") == "pilot")
        if pop.height == 0 or not fmt.is_number(pop["estimate"][0]):
            note = (say_mart_note(pop["note"][0]) if pop.height and "note" in pop.columns and pop["note"][0]
                    else _("no projection"))
            reasons.append(_("{cohort}: {reason}").format(cohort=cohort, reason=note))
            continue
        p = pop.row(0, named=True)
        values = {"who": fmt.population_label(cohort), "outcome": metric_word(outcome),
                  "estimate": fmt.signed(scale * p["estimate"]), "unit": unit,
                  "low": fmt.signed(scale * p["ci_low"]) if fmt.is_number(p.get("ci_low")) else None,
                  "high": fmt.signed(scale * p["ci_high"]) if fmt.is_number(p.get("ci_high")) else None}
        text = (_("the effect of {who} on {outcome} would be {estimate} {unit} (95% CI {low} to {high})")
                if values["low"] is not None and values["high"] is not None else
                _("the effect of {who} on {outcome} would be {estimate} {unit}")).format(**values)
        if pilot.height and fmt.is_number(pilot["estimate"][0]):
            text += _(", against {estimate} among its own members").format(
                estimate=fmt.signed(scale * pilot["estimate"][0]))
        if p.get("note"):
            text += f" ({say_mart_note(p['note'])})"
        parts.append(text)
    if not parts:
        return _("No projection of {outcome} onto the whole population could be made ({reasons}).").format(
            outcome=metric_word(outcome), reasons=join_clauses(reasons))
    text = _("Projected onto the whole eligible population, {effects}.").format(effects=join_clauses(parts))
    if reasons:
        text += " " + _("Not projected: {reasons}.").format(reasons=join_clauses(reasons))
    return text


def reading_pilot_power(power: pl.DataFrame, outcome: str, *, unit: str = "") -> str:
    """"With 12 pilot teams and 30 others over 8 weeks, the smallest change in resolution_hours the pilot
    could detect is 4.9 hours (12% of its mean); a 10% change needs 11 weeks to be detectable."

    Reads the row of ``outcome`` (the longest duration when the table holds several). Power 80%,
    5% two-sided level unless the table says otherwise.
    """
    weeks = next((c for c in ("weeks", "duration_weeks", "pilot_weeks") if c in power.columns), None)
    rows = power.filter(pl.col("outcome") == outcome)
    if weeks:
        rows = rows.sort(weeks)
    if rows.height == 0 or not fmt.is_number(rows["mde"][-1] if "mde" in rows.columns else None):
        return _("No power calculation for {outcome}.").format(outcome=metric_word(outcome))
    r = rows.row(-1, named=True)
    mde = fmt.significant(r["mde"], 3) + (" " + unit if unit else "")
    values = {"treated": fmt.count(r.get("n_treated")), "control": fmt.count(r.get("n_control")),
              "weeks": r[weeks], "outcome": metric_word(outcome), "mde": mde}
    text = (_("With {treated} pilot units and {control} others over {weeks} weeks, the smallest change in {outcome} "
              "the pilot could detect is {mde}") if fmt.is_number(r.get("n_treated")) else
            _("With the pilot as it is over {weeks} weeks, the smallest change in {outcome} the pilot could detect "
              "is {mde}")).format(**values)
    if fmt.is_number(r.get("mde_relative")):
        text += _(" ({share} of its mean)").format(share=fmt.pct(r["mde_relative"]))
    if fmt.is_number(r.get("target_effect")) and fmt.is_number(r.get("mean")) and r["mean"]:
        rel = fmt.pct(r["target_effect"] / abs(r["mean"]))
        need = r.get("weeks_to_detect_target")
        text += (ngettext("; a {change} change needs {weeks} week to be detectable",
                          "; a {change} change needs {weeks} weeks to be detectable", round(need))
                 .format(change=rel, weeks=fmt.number(need, 0)) if fmt.is_number(need) else
                 _("; a {change} change cannot be detected within any reasonable duration at this size")
                 .format(change=rel))
    return text + "."


def reading_community_outputs(outputs: pl.DataFrame, week_start: dt.date, *, weeks: int = 4,
                              flags: pl.DataFrame | None = None) -> str:
    """"2 of 5 communities met their weekly target over the last 4 weeks; busy without outputs: Help desk."."""
    start = week_start - dt.timedelta(weeks=weeks - 1)
    window = outputs.filter(pl.col("week_start").is_between(start, week_start))
    if window.height == 0:
        return _("No community outputs were recorded in the last weeks.")
    agg = [pl.col("outputs").sum().truediv(weeks).alias("per_week")]
    has_target = "target_per_week" in window.columns
    if has_target:
        agg.append(pl.col("target_per_week").max().alias("target"))
    per = window.group_by("community").agg(agg)
    parts = []
    if has_target and per["target"].drop_nulls().len():
        with_t = per.filter(pl.col("target").is_not_null())
        met = with_t.filter(pl.col("per_week") >= pl.col("target")).height
        parts.append(ngettext("{met} of {communities} community with a target met it over the last {weeks} weeks",
                              "{met} of {communities} communities with a target met it over the last {weeks} weeks",
                              with_t.height).format(met=met, communities=with_t.height, weeks=weeks))
    else:
        top = per.sort("per_week", descending=True).row(0, named=True)
        parts.append(_("{community} produced the most outputs ({outputs} per week)").format(
            community=top["community"], outputs=fmt.number(top["per_week"], 1)))
    source = flags if flags is not None else window
    for flag, words in (("busy_without_outputs", _("busy without outputs: {communities}")),
                        ("silent", _("silent: {communities}"))):
        if flag in source.columns:
            names = sorted(source.filter(pl.col(flag).fill_null(False))["community"].unique().to_list())
            if names:
                parts.append(words.format(communities=", ".join(map(str, names))))
    text = join_clauses(parts)
    return text[0].upper() + text[1:] + "."


def reading_kpi_trend(series_by_group: dict[str, list[tuple[dt.date, float]]], kpi: str, *, unit: str,
                      direction: str | None) -> str:
    """"Average handling time: 41.2 hours in pilot units vs 45.0 in other units in the latest period (lower is better)."."""
    latest = {g: pts[-1] for g, pts in series_by_group.items() if pts}
    if not latest:
        return _("No publishable values of {kpi} yet.").format(kpi=kpi)
    items = sorted(latest.items())
    when = max(d for d, _v in latest.values())
    vals = _(" vs ").join(_("{value} {unit} in {group}").format(value=fmt.significant(v, 3), unit=unit, group=g)
                          .replace("  ", " ") for g, (_d, v) in items)
    values = {"kpi": kpi, "values": vals, "date": fmt.long_date(when)}
    text = {"lower_is_better": _("{kpi}: {values}, latest period starting {date} (lower is better)."),
            "higher_is_better": _("{kpi}: {values}, latest period starting {date} (higher is better).")}.get(
        direction or "", _("{kpi}: {values}, latest period starting {date}.")).format(**values)
    return text + " " + _("Outcome KPI: a business number, not activity.")


def reading_kpi_link(link: pl.DataFrame, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"The strongest association is with resolution_hours 3 weeks later (r = +0.31; -0.12 hours per point of
    active share, 95% CI -0.20 to -0.04): an association across teams, not an effect of the platform."."""
    lag = next(c for c in ("lag_weeks", "lag", "k") if c in link.columns)
    rows = publishable(link, size_columns=["n_teams"], min_group_size=min_group_size).filter(
        pl.col("correlation").is_not_null())
    if rows.height == 0:
        return _("No KPI has enough teams with both numbers to relate it to activity yet.")
    top = rows.sort(pl.col("correlation").abs(), descending=True).row(0, named=True)
    when = (_("in the same week") if top[lag] == 0 else
            ngettext("{weeks} week later", "{weeks} weeks later", top[lag]).format(weeks=top[lag]))
    stats = [_("r = {r}").format(r=fmt.signed(top["correlation"], 2))]
    if fmt.is_number(top.get("slope_per_point")):
        stats.append(_("{slope} {unit} per point of active share").format(
            slope=fmt.signed(top["slope_per_point"], 2),
            unit=unit_word(top["unit"]) if top.get("unit") else _("units")))
        if fmt.is_number(top.get("ci_low")) and fmt.is_number(top.get("ci_high")):
            stats[-1] += _(", 95% CI {low} to {high}").format(low=fmt.signed(top["ci_low"], 2),
                                                             high=fmt.signed(top["ci_high"], 2))
    return _("The strongest association is between a team's active share and {kpi} {when} ({statistics}): an "
             "association across teams, not an effect of the platform.").format(
        kpi=top["kpi"], when=when, statistics=join_clauses(stats))


def reading_coverage(coverage: pl.DataFrame, source: str, kept: str, rejected: str, filtered: str | None) -> str:
    """"Of 152,301 rows received, 97.1% were kept, 2.5% filtered (bots, duplicates) and 0.4% rejected; worst: X."."""
    total_kept = float(coverage[kept].sum())
    total_rej = float(coverage[rejected].sum())
    total_fil = float(coverage[filtered].sum()) if filtered else 0.0
    total = total_kept + total_rej + total_fil
    if total == 0:
        return _("No rows were received.")
    values = {"rows": fmt.count(total), "kept": fmt.pct(total_kept / total, 1),
              "filtered": fmt.pct(total_fil / total, 1), "rejected": fmt.pct(total_rej / total, 1)}
    text = (_("Of {rows} rows received, {kept} were kept, {filtered} filtered (bots, duplicates) and {rejected} "
              "rejected (quarantined with a reason)") if filtered else
            _("Of {rows} rows received, {kept} were kept and {rejected} rejected (quarantined with a reason)")
            ).format(**values)
    per = coverage.group_by(source).agg(pl.col(rejected).sum(), pl.col(kept).sum()).with_columns(
        (pl.col(rejected) / (pl.col(rejected) + pl.col(kept))).alias("__r")).filter(pl.col(rejected) > 0)
    if per.height:
        worst = per.sort("__r", descending=True).row(0, named=True)
        text += _("; most rejects: {source} ({share} of its rows)").format(source=worst[source],
                                                                           share=fmt.pct(worst["__r"], 1))
    return text + "."


def reading_match_rates(match: pl.DataFrame, source: str, rate: str, *, threshold: float | None = None) -> str:
    """"Identity match rates range from 91.2% (Slack) to 99.0% (Viva Engage); 1 source is below the 90% threshold."."""
    rows = match.filter(pl.col(rate).is_not_null()).sort(rate)
    if rows.height == 0:
        return _("No identity match rate is available.")
    if threshold is None and "threshold" in rows.columns and rows["threshold"].drop_nulls().len():
        threshold = float(rows["threshold"].drop_nulls()[0])
    lo, hi = rows.row(0, named=True), rows.row(-1, named=True)
    values = {"low": fmt.pct(lo[rate], 1), "low_source": lo[source], "high": fmt.pct(hi[rate], 1),
              "high_source": hi[source]}
    text = (_("Identity match rate: {low} ({low_source})") if rows.height == 1 else
            _("Identity match rates range from {low} ({low_source}) to {high} ({high_source})")).format(**values)
    if threshold is not None:
        below = rows.filter(pl.col(rate) < threshold).height
        text += (ngettext("; {n} source is below the {threshold} threshold",
                          "; {n} sources are below the {threshold} threshold", below) if below else
                 _("; all at or above the {threshold} threshold")).format(n=below, threshold=fmt.pct(threshold))
    return text + ". " + _("Unmatched accounts count in no denominator and no numerator.")
