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

_NOTHING = "No publishable figures for this chart yet (groups below the minimum size are hidden)."


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
        return _NOTHING
    eligible = population_value(org, week_start, "organisation", "organisation", "eligible",
                                min_group_size=min_group_size)
    ever = population_value(org, week_start, "organisation", "organisation", "ever_active_rate",
                            min_group_size=min_group_size)
    prev_weeks = [w for w in org["week_start"].unique().to_list() if w < week_start]
    prev = max(prev_weeks) if prev_weeks else None
    before = population_value(org, prev, "organisation", "organisation", "active_rate", min_group_size=min_group_size)
    wk = fmt.week_label(week_start)
    text = f"{fmt.pct(active, 1)} of the {fmt.count(eligible)} eligible employees were active in {wk}"
    if before is not None:
        d = 100 * (active - before)
        trend = "level with" if round(d, 1) == 0 else ("up " if d > 0 else "down ") + fmt.points(d, 1) + " on"
        text += f", {trend} {fmt.week_label(prev, relative_to=week_start)}"
    if ever is not None:
        text += f"; {fmt.pct(ever, 1)} have been active at least once"
    text += "."
    said_once = state_equivalence(org).sentence()
    if said_once:
        return f"{text} {said_once}"
    engaged = population_value(org, week_start, "organisation", "organisation", "engaged_rate",
                               min_group_size=min_group_size)
    contrib = population_value(org, week_start, "organisation", "organisation", "contributor_rate",
                               min_group_size=min_group_size)
    if engaged is not None and contrib is not None:
        text += (f" Most of the activity is reading: {fmt.pct(engaged, 1)} reacted or contributed and "
                 f"{fmt.pct(contrib, 1)} contributed (posted, replied, shared or uploaded)."
                 if active - engaged > engaged else
                 f" {fmt.pct(engaged, 1)} reacted or contributed and {fmt.pct(contrib, 1)} contributed (posted, "
                 "replied, shared or uploaded).")
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
    by = population_type.replace("_", " ")
    if cells.height < 2:
        return f"Fewer than two {by} groups are large enough to compare this week."
    lo, hi = cells.row(0, named=True), cells.row(-1, named=True)
    word = {"active_rate": "active", "engaged_rate": "engaged", "contributor_rate": "contributing"}.get(metric,
                                                                                                       metric)
    gap = 100 * (hi[metric] - lo[metric])
    lo_name, hi_name = fmt.population_label(lo["population"]), fmt.population_label(hi["population"])
    return (f"By {by}, {lo_name} lags: {fmt.pct(lo[metric])} {word} in {fmt.week_label(week_start)}, "
            f"{fmt.points(gap)} below {hi_name} ({fmt.pct(hi[metric])}); "
            f"{cells.height} {by} groups are shown.")


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
        return "The two groups of the digital divide are not both large enough to compare this week."
    r = now.row(0, named=True)
    ref, foc = str(r["reference"]), str(r["focus"])
    text = _gap_sentence(foc, ref, r["gap_points"])
    then_week = comparison_week(rows["week_start"].to_list(), week_start)
    if then_week is not None:
        then = rows.filter(pl.col("week_start") == then_week)["gap_points"][0]
        d = abs(r["gap_points"]) - abs(then)
        trend = "unchanged from" if round(d) == 0 else ("down from" if d < 0 else "up from")
        text += f", {trend} {fmt.points(then)} in {fmt.week_label(then_week, relative_to=week_start)}"
    return text + "."


def _gap_sentence(focus: str, reference: str, gap_points: float) -> str:
    if round(gap_points) == 0:
        return f"{focus.capitalize()} staff are level with {reference} staff this week"
    side = "behind" if gap_points > 0 else "ahead of"
    return f"{focus.capitalize()} staff are {fmt.points(gap_points)} {side} {reference} staff this week"


def reading_frontline_gap_from_curve(curve: pl.DataFrame, week_start: dt.date, *,
                                     min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """The digital-divide sentence from the adoption curve's worker-type cells (when the divide mart is absent)."""
    def gap(week: dt.date | None) -> float | None:
        o = population_value(curve, week, "worker_type", "office", "active_rate", min_group_size=min_group_size)
        f = population_value(curve, week, "worker_type", "frontline", "active_rate", min_group_size=min_group_size)
        return None if o is None or f is None else 100 * (o - f)

    now = gap(week_start)
    if now is None:
        return "Office and frontline staff are not both large enough groups to compare this week."
    text = _gap_sentence("frontline", "office", now)
    weeks = curve.filter(pl.col("population_type") == "worker_type")["week_start"].unique().to_list()
    then_week = comparison_week(weeks, week_start)
    then = gap(then_week)
    if then is not None:
        d = abs(now) - abs(then)
        trend = "unchanged from" if round(d) == 0 else ("down from" if d < 0 else "up from")
        text += f", {trend} {fmt.points(then)} in {fmt.week_label(then_week, relative_to=week_start)}"
    return text + "."


def reading_usage_segments(shares: pl.DataFrame, week_start: dt.date, *,
                           min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"In week 14, 21% of eligible employees have a usage habit (Power or Habitual users); 40% are non-users."."""
    rows = publishable(
        shares.filter((pl.col("population_type") == "organisation") & (pl.col("week_start") == week_start)),
        size_columns=["eligible"], min_group_size=min_group_size,
    ).filter(pl.col("share").is_not_null())
    if rows.height == 0:
        return _NOTHING
    share = dict(zip(rows["segment"].to_list(), rows["share"].to_list(), strict=True))
    habit = share.get("Power user", 0.0) + share.get("Habitual user", 0.0)
    return (f"In {fmt.week_label(week_start)}, {fmt.pct(habit)} of eligible employees have a usage habit "
            f"(Power or Habitual users, active in at least 9 of the last 12 weeks); "
            f"{fmt.pct(share.get('Non-user'))} did nothing at all in those 12 weeks.")


def reading_lifecycle(shares: pl.DataFrame, week_start: dt.date, *,
                      min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"In week 14, 35 people were active for the first time, 20 came back after a pause and 48 went dormant."."""
    rows = publishable(
        shares.filter((pl.col("population_type") == "organisation") & (pl.col("week_start") == week_start)),
        size_columns=["eligible"], min_group_size=min_group_size,
    )
    if rows.height == 0:
        return _NOTHING
    people = dict(zip(rows["state"].to_list(), rows["people"].to_list(), strict=True))
    def n(state: str) -> str:
        v = people.get(state)
        return f"{fmt.count(v)} {'person' if v == 1 else 'people'}"

    return (f"In {fmt.week_label(week_start)}, {n('new')} used the platform for the first time, "
            f"{n('resurrecting')} came back after a pause and {n('dormant')} went dormant "
            "(active the week before, not this week).")


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
        return f"No cohort is old enough (and large enough) to show retention after {weeks_since} weeks yet."
    share = float((rows[metric] * rows["eligible"]).sum() / rows["eligible"].sum())
    return (f"Across {rows.height} weekly cohorts, {fmt.pct(share)} of people were active again "
            f"{weeks_since} weeks after their first active week.")


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
        when = f" by {fmt.week_label(r['as_of_week'])}" if r.get("as_of_week") else ""
        parts.append(f"{fmt.pct(r['never_active_rate'])} of eligible employees ({fmt.count(r['never_active'])} people)"
                     f" have never been active{when}")
    if cells.height:
        top = cells.sort("never_active_rate", descending=True).row(0, named=True)
        parts.append(f"the highest share by {population_type.replace('_', ' ')} is "
                     f"{fmt.population_label(top['population'])} "
                     f"({fmt.pct(top['never_active_rate'])})")
    if not parts:
        return _NOTHING
    return "; ".join(parts)[0].upper() + "; ".join(parts)[1:] + "."


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
        rows, when = rows.filter(pl.col("scope") == "pooled"), "all weeks pooled"
    else:
        rows = rows.filter(pl.col("week_start").is_not_null() & (pl.col("week_start") <= week_start))
        when = "average of the weeks shown"
    rows = publishable(rows, size_columns=["members_manager_active", "members_manager_inactive"],
                       min_group_size=min_group_size).filter(
        pl.col("rate_manager_active").is_not_null() & pl.col("rate_manager_inactive").is_not_null())
    if rows.height == 0:
        return "Not enough team members in both arms (manager active / not active the week before) to compare."
    on, off = float(rows["rate_manager_active"].mean()), float(rows["rate_manager_inactive"].mean())
    d = 100 * (on - off)
    more = "more" if d >= 0 else "less"
    text = (f"Team members were {fmt.points(d)} {more} likely to be active after a week in which their manager "
            f"was active ({fmt.pct(on)} vs {fmt.pct(off)}, {when})")
    if effect is not None and effect.height and "estimate_pp" in effect.columns:
        e = effect.row(0, named=True)
        if fmt.is_number(e.get("estimate_pp")):
            text += (f"; adjusted for the week, team size, department, worker type and pilot status: "
                     f"{e['estimate_pp']:+.1f} points (95% CI {e['ci_low_pp']:+.1f} to {e['ci_high_pp']:+.1f})")
    return text + ". An association, not proof that managers cause it."


def reading_representativeness(rep: pl.DataFrame, smd: str, label: str, *, threshold: float = 0.1) -> str:
    """"7 of 24 attributes differ noticeably between the pilot and the organisation (|SMD| > 0.1); the largest is ..."."""
    rows = rep.filter(pl.col(smd).is_not_null() & pl.col(smd).is_finite())
    if rows.height == 0:
        return "No attribute could be compared between the pilot and the organisation."
    flagged = rows.filter(pl.col(smd).abs() > threshold)
    top = rows.sort(pl.col(smd).abs(), descending=True).row(0, named=True)
    if flagged.height == 0:
        return (f"The pilot looks like the organisation: no attribute of {rows.height} differs by more than "
                f"{threshold} standardized units (largest: {top[label]}, {top[smd]:+.2f}).")
    return (f"{flagged.height} of {rows.height} attributes differ noticeably between the pilot and the organisation "
            f"(|SMD| > {threshold}); the largest is {top[label]} ({top[smd]:+.2f}), so a naive comparison is biased.")


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
    if rows.height == 0:
        return f"No publishable estimate for {outcome} (an arm is below the minimum group size, or none could be made)."
    adjusted = rows.filter(pl.col("method") != "naive")
    if adjusted.height == 0:
        return f"Only the naive difference is available for {outcome}; it is biased by how the pilot was chosen."
    rank = {m: i for i, m in enumerate(PREFERRED_METHODS)}
    a = (adjusted.with_columns((pl.col("cohort") != "all").alias("__not_all"),
                               pl.col("method").replace_strict(rank, default=len(rank), return_dtype=pl.Int32)
                               .alias("__rank"))
         .sort("__not_all", "__rank").row(0, named=True))
    naive_rows = rows.filter((pl.col("method") == "naive") & (pl.col("cohort") == a["cohort"]))
    naive = naive_rows["estimate"][0] if naive_rows.height else a.get("naive_difference")
    est, lo, hi = (None if v is None else scale * v for v in (a["estimate"], a["ci_low"], a["ci_high"]))
    verdict = ("the interval includes zero: no detectable effect" if lo is not None and hi is not None and lo <= 0 <= hi
               else "the pilot raised it" if est > 0 else "the pilot lowered it")
    cohort = "all waves pooled" if a["cohort"] == "all" else f"cohort {a['cohort']}"
    naive_text = f"the naive gap is {scale * naive:+.{digits}f} {unit}; " if fmt.is_number(naive) else ""
    ci = f" (95% CI {lo:+.{digits}f} to {hi:+.{digits}f})" if lo is not None and hi is not None else ""
    text = (f"On {outcome} ({cohort}), {naive_text}corrected for selection ({method_label(a['method'])}) it is "
            f"{est:+.{digits}f} {unit}{ci}: {verdict}.")
    others = [scale * v for v in adjusted["estimate"].to_list()]
    if len(others) > 1:
        text += (f" Across cohorts and methods, the {len(others)} corrected estimates range from "
                 f"{min(others):+.{digits}f} to {max(others):+.{digits}f}.")
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
        return _NOTHING
    pre = rows.filter(pl.col(rel) < 0)
    last = rows.row(-1, named=True)
    effect = scale * last[est] if last[rel] >= 0 else None
    parts = []
    if pretrend_p is not None:
        p_text = "p < 0.01" if pretrend_p < 0.01 else f"p = {pretrend_p:.2f}"
        gap = scale * pretrend_gap if fmt.is_number(pretrend_gap) else None
        over = f" over {pretrend_weeks} week{'s' if pretrend_weeks != 1 else ''}" if pretrend_weeks else ""
        if pretrend_p >= alpha:
            size = f"the gap moved {gap:+.1f} {unit}{over}, " if gap is not None else ""
            parts.append(f"Before the start, pilot and comparison groups moved together ({size}pre-trend test {p_text})")
        elif gap is None:
            parts.append(f"Careful: before the start, pilot and comparison groups already moved apart (pre-trend "
                         f"test {p_text}), so the difference-in-differences assumption is doubtful")
        else:
            text = (f"Careful: before the start, the gap between pilot and comparison groups already moved by "
                    f"{gap:+.1f} {unit}{over} (pre-trend test {p_text})")
            if effect is not None and abs(gap) < small_share * abs(effect):
                text += (f": a real but small drift next to the effect of {effect:+.1f} {unit}, so the "
                         "difference-in-differences estimate is off by about that much at most")
            else:
                text += ", so the difference-in-differences assumption is doubtful"
            parts.append(text)
    elif pre.height:
        outside = pre.filter((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).height
        parts.append(f"Before the start, {outside} of {pre.height} weekly estimates differ from zero")
    if effect is not None:
        parts.append(f"{last[rel]} weeks in, the effect is {effect:+.1f} {unit} "
                     f"(95% CI {scale * last['ci_low']:+.1f} to {scale * last['ci_high']:+.1f})")
    return "; ".join(parts) + "." if parts else _NOTHING


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
            note = pop["note"][0] if pop.height and "note" in pop.columns and pop["note"][0] else "no projection"
            reasons.append(f"{cohort}: {note}")
            continue
        p = pop.row(0, named=True)
        who = "all waves" if cohort == "all" else cohort
        text = f"the effect of {who} on {outcome} would be {scale * p['estimate']:+.1f} {unit}"
        if fmt.is_number(p.get("ci_low")) and fmt.is_number(p.get("ci_high")):
            text += f" (95% CI {scale * p['ci_low']:+.1f} to {scale * p['ci_high']:+.1f})"
        if pilot.height and fmt.is_number(pilot["estimate"][0]):
            text += f", against {scale * pilot['estimate'][0]:+.1f} among its own members"
        if p.get("note"):
            text += f" ({p['note']})"
        parts.append(text)
    if not parts:
        return f"No projection of {outcome} onto the whole population could be made ({'; '.join(reasons)})."
    text = "Projected onto the whole eligible population, " + "; ".join(parts) + "."
    if reasons:
        text += f" Not projected: {'; '.join(reasons)}."
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
        return f"No power calculation for {outcome}."
    r = rows.row(-1, named=True)
    who = (f"With {fmt.count(r.get('n_treated'))} pilot units and {fmt.count(r.get('n_control'))} others"
           if fmt.is_number(r.get("n_treated")) else "With the pilot as it is")
    text = (f"{who} over {r[weeks]} weeks, the smallest change in {outcome} the pilot could detect is "
            f"{r['mde']:,.3g}{' ' + unit if unit else ''}")
    if fmt.is_number(r.get("mde_relative")):
        text += f" ({fmt.pct(r['mde_relative'])} of its mean)"
    if fmt.is_number(r.get("target_effect")) and fmt.is_number(r.get("mean")) and r["mean"]:
        rel = fmt.pct(r["target_effect"] / abs(r["mean"]))
        need = r.get("weeks_to_detect_target")
        text += (f"; a {rel} change needs {need:.0f} week{'s' if round(need) != 1 else ''} to be detectable"
                 if fmt.is_number(need) else
                 f"; a {rel} change cannot be detected within any reasonable duration at this size")
    return text + "."


def reading_community_outputs(outputs: pl.DataFrame, week_start: dt.date, *, weeks: int = 4,
                              flags: pl.DataFrame | None = None) -> str:
    """"2 of 5 communities met their weekly target over the last 4 weeks; busy without outputs: Help desk."."""
    start = week_start - dt.timedelta(weeks=weeks - 1)
    window = outputs.filter(pl.col("week_start").is_between(start, week_start))
    if window.height == 0:
        return "No community outputs were recorded in the last weeks."
    agg = [pl.col("outputs").sum().truediv(weeks).alias("per_week")]
    has_target = "target_per_week" in window.columns
    if has_target:
        agg.append(pl.col("target_per_week").max().alias("target"))
    per = window.group_by("community").agg(agg)
    parts = []
    if has_target and per["target"].drop_nulls().len():
        with_t = per.filter(pl.col("target").is_not_null())
        met = with_t.filter(pl.col("per_week") >= pl.col("target")).height
        parts.append(f"{met} of {with_t.height} communities with a target met it over the last {weeks} weeks")
    else:
        top = per.sort("per_week", descending=True).row(0, named=True)
        parts.append(f"{top['community']} produced the most outputs ({top['per_week']:.1f} per week)")
    source = flags if flags is not None else window
    for flag, words in (("busy_without_outputs", "busy without outputs"), ("silent", "silent")):
        if flag in source.columns:
            names = sorted(source.filter(pl.col(flag).fill_null(False))["community"].unique().to_list())
            if names:
                parts.append(f"{words}: {', '.join(map(str, names))}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def reading_kpi_trend(series_by_group: dict[str, list[tuple[dt.date, float]]], kpi: str, *, unit: str,
                      direction: str | None) -> str:
    """"Average handling time: 41.2 hours in pilot units vs 45.0 in other units in the latest period (lower is better)."."""
    latest = {g: pts[-1] for g, pts in series_by_group.items() if pts}
    if not latest:
        return f"No publishable values of {kpi} yet."
    better = {"lower_is_better": " (lower is better)", "higher_is_better": " (higher is better)"}.get(direction or "", "")
    items = sorted(latest.items())
    when = max(d for d, _ in latest.values())
    vals = " vs ".join(f"{v:,.3g} {unit} in {g}".replace("  ", " ") for g, (_, v) in items)
    return f"{kpi}: {vals}, latest period starting {when.isoformat()}{better}. Outcome KPI: a business number, not activity."


def reading_kpi_link(link: pl.DataFrame, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> str:
    """"The strongest association is with resolution_hours 3 weeks later (r = +0.31; -0.12 hours per point of
    active share, 95% CI -0.20 to -0.04): an association across teams, not an effect of the platform."."""
    lag = next(c for c in ("lag_weeks", "lag", "k") if c in link.columns)
    rows = publishable(link, size_columns=["n_teams"], min_group_size=min_group_size).filter(
        pl.col("correlation").is_not_null())
    if rows.height == 0:
        return "No KPI has enough teams with both numbers to relate it to activity yet."
    top = rows.sort(pl.col("correlation").abs(), descending=True).row(0, named=True)
    when = ("in the same week" if top[lag] == 0 else
            f"{top[lag]} week{'s' if top[lag] != 1 else ''} later")
    text = (f"The strongest association is between a team's active share and {top['kpi']} {when} "
            f"(r = {top['correlation']:+.2f}")
    if fmt.is_number(top.get("slope_per_point")):
        unit = top.get("unit") or "units"
        text += f"; {top['slope_per_point']:+.2f} {unit} per point of active share"
        if fmt.is_number(top.get("ci_low")) and fmt.is_number(top.get("ci_high")):
            text += f", 95% CI {top['ci_low']:+.2f} to {top['ci_high']:+.2f}"
    return text + "): an association across teams, not an effect of the platform."


def reading_coverage(coverage: pl.DataFrame, source: str, kept: str, rejected: str, filtered: str | None) -> str:
    """"Of 152,301 rows received, 97.1% were kept, 2.5% filtered (bots, duplicates) and 0.4% rejected; worst: X."."""
    total_kept = float(coverage[kept].sum())
    total_rej = float(coverage[rejected].sum())
    total_fil = float(coverage[filtered].sum()) if filtered else 0.0
    total = total_kept + total_rej + total_fil
    if total == 0:
        return "No rows were received."
    text = f"Of {fmt.count(total)} rows received, {fmt.pct(total_kept / total, 1)} were kept"
    if filtered:
        text += f", {fmt.pct(total_fil / total, 1)} filtered (bots, duplicates)"
    text += f" and {fmt.pct(total_rej / total, 1)} rejected (quarantined with a reason)"
    per = coverage.group_by(source).agg(pl.col(rejected).sum(), pl.col(kept).sum()).with_columns(
        (pl.col(rejected) / (pl.col(rejected) + pl.col(kept))).alias("__r")).filter(pl.col(rejected) > 0)
    if per.height:
        worst = per.sort("__r", descending=True).row(0, named=True)
        text += f"; most rejects: {worst[source]} ({fmt.pct(worst['__r'], 1)} of its rows)"
    return text + "."


def reading_match_rates(match: pl.DataFrame, source: str, rate: str, *, threshold: float | None = None) -> str:
    """"Identity match rates range from 91.2% (Slack) to 99.0% (Viva Engage); 1 source is below the 90% threshold."."""
    rows = match.filter(pl.col(rate).is_not_null()).sort(rate)
    if rows.height == 0:
        return "No identity match rate is available."
    if threshold is None and "threshold" in rows.columns and rows["threshold"].drop_nulls().len():
        threshold = float(rows["threshold"].drop_nulls()[0])
    lo, hi = rows.row(0, named=True), rows.row(-1, named=True)
    text = (f"Identity match rate: {fmt.pct(lo[rate], 1)} ({lo[source]})" if rows.height == 1 else
            f"Identity match rates range from {fmt.pct(lo[rate], 1)} ({lo[source]}) to "
            f"{fmt.pct(hi[rate], 1)} ({hi[source]})")
    if threshold is not None:
        below = rows.filter(pl.col(rate) < threshold).height
        text += (f"; {below} source{'s are' if below != 1 else ' is'} below the {fmt.pct(threshold)} threshold"
                 if below else f"; all at or above the {fmt.pct(threshold)} threshold")
    return text + ". Unmatched accounts count in no denominator and no numerator."
