"""From the person-week panel (``marts.person_week``) to what the pilot estimators take: the
pilot windows, one baseline row per person, unit-level frames per cohort, DiD panels, and the
pilot assignment of teams for team-level outcome KPIs.

Definitions:

- **Window** of a cohort: from its start week (inclusive) to its end (exclusive) = the earliest of
  the week after the cohort's declared last day (``cohort_end``, inclusive, as in ``pilots.yaml``;
  else the first week its members are ``after``), the week of the general roll-out
  (``window_end``, the first day everybody has the platform; a week it falls inside is left out)
  and the week after the panel's last week. After that everybody has the platform and pilot and
  non-pilot cannot be told apart.
- **Baseline**: the ``baseline_weeks`` weeks before the *first* cohort's start (before any pilot
  could have changed anything). Each person's HR attributes are taken from their last baseline
  week; pre-pilot activity = the mean of each activity column over their baseline weeks.
- **Controls** of a cohort: people in no pilot, or in a cohort that starts at or after this
  cohort's window end (not yet treated during the whole window). Members of other cohorts that
  start inside the window are left out of that cohort's comparisons.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from transforms.contracts.config import KpiRegistry, Pilots, Settings
from transforms.metrics.outcome_kpis import weekly_team_kpis
from transforms.pilot.design import MISSING_LEVEL, require_columns
from transforms.pilot.errors import PilotInputError
from transforms.weeks import week_start_expr, week_start_of

log = logging.getLogger(__name__)

FRAME = "person_week"
PILOT_COLUMNS = ("pilot_cohort", "pilot_wave", "pilot_start_week", "pilot_status", "pilot_support_level")


@dataclass(frozen=True)
class PilotWindow:
    """One cohort's estimation window ``[start, end)`` (week starts) and its descriptors."""

    cohort: str
    wave: int | None
    support_level: str | None
    start: dt.date
    end: dt.date
    n_members: int


def pilot_windows(
    person_week: pl.DataFrame,
    *,
    window_end: dt.date | None = None,
    cohort_end: Mapping[str, dt.date] | None = None,
) -> list[PilotWindow]:
    """The estimation window of every cohort in ``person_week`` (see module docstring), by start."""
    require_columns(person_week, ["person_key", "week_start", *PILOT_COLUMNS], frame_name=FRAME)
    members = person_week.filter(pl.col("pilot_cohort").is_not_null())
    if members.height == 0:
        raise PilotInputError("no person is assigned to a pilot cohort", frame=FRAME, column="pilot_cohort")
    no_start = members.filter(pl.col("pilot_start_week").is_null())
    if no_start.height:
        raise PilotInputError(
            f"{no_start.height} row(s) have a pilot_cohort but no pilot_start_week, e.g. cohort "
            f"{no_start['pilot_cohort'][0]!r}",
            frame=FRAME,
            column="pilot_start_week",
        )
    panel_end = person_week["week_start"].max() + dt.timedelta(days=7)  # type: ignore[operator]
    cohorts = (
        members.group_by("pilot_cohort")
        .agg(
            pl.col("pilot_start_week").min().alias("start"),
            pl.col("pilot_start_week").n_unique().alias("n_starts"),
            pl.col("pilot_wave").drop_nulls().mode().first().alias("wave"),
            pl.col("pilot_support_level").drop_nulls().unique().alias("levels"),
            pl.col("week_start").filter(pl.col("pilot_status") == "after").min().alias("first_after"),
            pl.col("person_key").n_unique().alias("n_members"),
        )
        .sort("start", "pilot_cohort")
    )
    windows: list[PilotWindow] = []
    for row in cohorts.iter_rows(named=True):  # one row per cohort: a handful
        if row["n_starts"] > 1:
            log.warning("cohort %s has several start weeks; using the earliest, %s", row["pilot_cohort"], row["start"])
        ends = [panel_end]
        declared = (cohort_end or {}).get(row["pilot_cohort"])
        if declared is not None:
            ends.append(_monday_on_or_after(declared + dt.timedelta(days=1)))
        elif row["first_after"] is not None:
            ends.append(row["first_after"])
        if window_end is not None:
            ends.append(window_end - dt.timedelta(days=window_end.weekday()))
        end = min(ends)
        if end == panel_end and window_end is None:
            log.warning(
                "cohort %s: no declared end, no 'after' week and no general roll-out given; its window runs "
                "to the end of the panel (pass window_end if everybody got the platform earlier)",
                row["pilot_cohort"],
            )
        if end <= row["start"]:
            log.warning("cohort %s: window is empty (start %s, end %s); skipped", row["pilot_cohort"], row["start"], end)
            continue
        levels = row["levels"]
        windows.append(
            PilotWindow(
                cohort=row["pilot_cohort"],
                wave=row["wave"],
                support_level=levels[0] if len(levels) == 1 else None,
                start=row["start"],
                end=end,
                n_members=row["n_members"],
            )
        )
    return windows


def person_baseline(
    person_week: pl.DataFrame,
    *,
    attributes: Sequence[str],
    activity: Sequence[str],
    baseline_end: dt.date,
    baseline_weeks: int = 8,
) -> pl.DataFrame:
    """One row per person present in ``[baseline_end - baseline_weeks, baseline_end)``.

    Columns: ``person_key``; the ``attributes`` from the person's last baseline week (text nulls
    become ``"(missing)"``, numeric nulls the mean, both logged); ``pre_<column>`` = mean of each
    ``activity`` column over the person's baseline weeks (the denominator is the weeks the person
    was eligible, not the window's length); ``baseline_weeks`` present; and the person's pilot
    assignment (``pilot_cohort``, ``pilot_wave``, ``pilot_start_week``, ``pilot_support_level``;
    null = none).
    """
    require_columns(person_week, ["person_key", "week_start", *attributes, *activity, *PILOT_COLUMNS], frame_name=FRAME)
    start = baseline_end - dt.timedelta(weeks=baseline_weeks)
    # the columns read below only: sorting copies every column of the frame
    base = person_week.select(list(dict.fromkeys(["person_key", "week_start", *attributes, *activity]))).filter(
        (pl.col("week_start") >= start) & (pl.col("week_start") < baseline_end))
    if base.height == 0:
        raise PilotInputError(
            f"no person-week in the baseline window [{start}, {baseline_end})", frame=FRAME, column="week_start"
        )
    assignment = (
        person_week.select("person_key", "week_start", *PILOT_COLUMNS).sort("week_start")
        .group_by("person_key")
        .agg(
            pl.col("pilot_cohort").drop_nulls().last(),
            pl.col("pilot_wave").drop_nulls().last(),
            pl.col("pilot_start_week").drop_nulls().last(),
            pl.col("pilot_support_level").drop_nulls().last(),
        )
    )
    people = (
        base.sort("week_start")
        .group_by("person_key")
        .agg(
            *[pl.col(a).last() for a in attributes],
            *[pl.col(c).cast(pl.Float64).mean().alias(f"pre_{c}") for c in activity],
            pl.len().alias("baseline_weeks"),
        )
        .join(assignment, on="person_key", how="left")
        .sort("person_key")
    )
    return fill_attribute_nulls(people, attributes)


def fill_attribute_nulls(people: pl.DataFrame, attributes: Sequence[str]) -> pl.DataFrame:
    """Text nulls -> ``"(missing)"`` (a level of its own); numeric nulls -> the column mean. Logged."""
    fills: list[pl.Expr] = []
    for a in attributes:
        n_null = people[a].null_count()
        if not n_null:
            continue
        dtype = people.schema[a]
        if dtype == pl.Boolean:
            log.info("%s: %d null(s) in %s read as False", FRAME, n_null, a)
            fills.append(pl.col(a).fill_null(False))
        elif dtype.is_numeric():
            log.info("%s: %d null(s) in %s set to the column mean", FRAME, n_null, a)
            fills.append(pl.col(a).cast(pl.Float64).fill_null(pl.col(a).cast(pl.Float64).mean()))
        else:
            log.info("%s: %d null(s) in %s read as level %r", FRAME, n_null, a, MISSING_LEVEL)
            fills.append(pl.col(a).cast(pl.Utf8).fill_null(MISSING_LEVEL))
    return people.with_columns(fills) if fills else people


def control_filter(window: PilotWindow) -> pl.Expr:
    """Rows of people who are controls for ``window`` (no pilot, or a pilot starting at/after its end)."""
    return pl.col("pilot_cohort").is_null() | (pl.col("pilot_start_week") >= window.end)


def unit_frame(
    person_week: pl.DataFrame,
    window: PilotWindow,
    *,
    metric: str,
    baseline: pl.DataFrame,
    support_level: str | None = None,
) -> pl.DataFrame:
    """One row per person for the unit-level estimators of ``window``'s cohort.

    ``outcome`` = the mean of ``metric`` over the person's weeks inside the window (e.g. the
    weekly active rate during the pilot); ``treated`` = 1 for the cohort's members (restricted to
    ``support_level`` when given), 0 for its controls; plus every baseline column as covariates.
    People with no baseline week or no week inside the window are left out.
    """
    in_window = person_week.filter((pl.col("week_start") >= window.start) & (pl.col("week_start") < window.end))
    outcome = in_window.group_by("person_key").agg(pl.col(metric).cast(pl.Float64).mean().alias("outcome"))
    return unit_frame_of_outcomes(outcome, window, baseline=baseline, support_level=support_level)


def unit_frame_of_outcomes(
    outcomes: pl.DataFrame,
    window: PilotWindow,
    *,
    baseline: pl.DataFrame,
    support_level: str | None = None,
) -> pl.DataFrame:
    """:func:`unit_frame` for outcomes measured elsewhere: ``outcomes`` holds one row per person
    (``person_key``, ``outcome``: e.g. the person's mean survey answer inside the window). The
    cohort's members and its controls (:func:`control_filter`) with a baseline row are kept."""
    is_member = pl.col("pilot_cohort") == window.cohort
    if support_level is not None:
        is_member = is_member & (pl.col("pilot_support_level") == support_level)
    no_baseline = outcomes.join(baseline.select("person_key"), on="person_key", how="anti").height
    if no_baseline:
        log.info("cohort %s: %d person(s) in the window have no baseline week (hired later); left out",
                 window.cohort, no_baseline)
    return (
        baseline.filter(is_member | control_filter(window))
        .with_columns(is_member.fill_null(False).cast(pl.Int8).alias("treated"))
        .join(outcomes.select("person_key", "outcome"), on="person_key", how="inner")
        .sort("person_key")
    )


def did_panel(
    panel: pl.DataFrame,
    window: PilotWindow,
    *,
    unit: str,
    first_treat: str,
    treated: pl.Expr,
    control: pl.Expr,
    pre_weeks: int,
    balance: bool = True,
) -> pl.DataFrame:
    """Rows of ``panel`` for a staggered DiD over ``[window start - pre_weeks, window end)``.

    Keeps units where ``treated`` or ``control`` holds; controls get a null ``first_treat``. With
    ``balance`` only units present in every week of that range are kept (the count dropped is
    logged), so each ATT(g, t) compares the same units over time.
    """
    start = window.start - dt.timedelta(weeks=pre_weeks)
    rows = panel.filter(
        (pl.col("week_start") >= start) & (pl.col("week_start") < window.end) & (treated | control)
    ).with_columns(pl.when(treated).then(pl.col(first_treat)).otherwise(None).alias(first_treat))
    if balance and rows.height:
        n_weeks = rows["week_start"].n_unique()
        counts = rows.group_by(unit).agg(pl.col("week_start").n_unique().alias("k"))
        full = counts.filter(pl.col("k") == n_weeks).select(unit)
        dropped = counts.height - full.height
        if dropped:
            log.info("DiD panel %s: dropped %d unit(s) not present in all %d weeks", window.cohort, dropped, n_weeks)
        rows = rows.join(full, on=unit, how="semi")
    return rows


def team_pilot_assignment(
    person_week: pl.DataFrame,
    *,
    team: str = "org_unit",
    min_share: float = 0.5,
) -> pl.DataFrame:
    """Which teams count as piloted, for team-level outcome KPIs.

    A team is assigned to a cohort when at least ``min_share`` of the people in the team in the
    week before the cohort's start are members of that cohort (the earliest such cohort wins).
    Returns one row per team: ``unit_id``, ``cohort``, ``first_treat`` (the cohort's start week),
    ``support_level``, ``team_size`` (people that week); teams of no cohort have null cohort.
    """
    require_columns(person_week, ["person_key", "week_start", team, *PILOT_COLUMNS], frame_name=FRAME)
    starts = (
        person_week.filter(pl.col("pilot_cohort").is_not_null())
        .group_by("pilot_cohort")
        .agg(pl.col("pilot_start_week").min().alias("start"), pl.col("pilot_support_level").drop_nulls().first())
    )
    # the team's members in the week before each cohort's start (an equi-join on that week, of the
    # three columns read: a cross join copied every column of every person-week once per cohort)
    before = starts.select(pl.col("pilot_cohort").alias("c"), "start",
                           (pl.col("start") - pl.duration(weeks=1)).cast(pl.Date).alias("week_start"))
    snap = person_week.select("week_start", team, "pilot_cohort").join(before, on="week_start", how="inner")
    shares = snap.group_by(team, "c", "start").agg(
        (pl.col("pilot_cohort") == pl.col("c")).fill_null(False).mean().alias("share"), pl.len().alias("team_size")
    )
    chosen = (
        shares.filter(pl.col("share") >= min_share)
        .sort("start")
        .group_by(team)
        .agg(pl.col("c").first().alias("cohort"), pl.col("start").first().alias("first_treat"))
    )
    teams = person_week.group_by(team).agg(pl.col("person_key").n_unique().alias("team_size"))
    return (
        teams.join(chosen, on=team, how="left")
        .join(starts.rename({"pilot_cohort": "cohort"}).select("cohort", "pilot_support_level"), on="cohort", how="left")
        .select(
            pl.col(team).alias("unit_id"),
            "cohort",
            "first_treat",
            pl.col("pilot_support_level").alias("support_level"),
            "team_size",
        )
        .filter(pl.col("unit_id").is_not_null())
        .sort("unit_id")
    )


#: Person-week columns whose pre-pilot means describe a person's baseline activity.
PRE_ACTIVITY: tuple[str, ...] = ("is_active", "is_engaged", "is_contributor", "actions_total")
#: Weeks before a pilot's start that the baselines, DiD panels and KPI baselines use.
PRE_WEEKS = 8


def first_pilot_start(pilots: Pilots) -> dt.date | None:
    """The Monday of the earliest cohort's start (the end of the pre-pilot baseline); None without cohorts."""
    starts = [c.start for c in pilots.cohorts]
    return week_start_of(min(starts)) if starts else None


def pilot_window_end(settings: Settings) -> dt.date | None:
    """The general roll-out: after it everyone has the platform and the pilot comparison ends."""
    return settings.general_rollout


def pilot_comparison_end(settings: Settings, pilots: Pilots) -> dt.date | None:
    """The first week no pilot estimate reads (a Monday), or None when the comparison is still open.

    Every cohort's window (:func:`pilot_windows`) ends at the latest at the week of the general
    roll-out, or, without one, at the week after its declared last day; baselines, DiD pre-periods
    and KPI baselines lie before the windows. So rows of ``marts.person_week`` (and KPI values) from
    this week on change no pilot effect. None when there is no roll-out date and some cohort has no
    declared end (its window runs to the end of the panel), or without cohorts.
    """
    if not pilots.cohorts:
        return None
    if settings.general_rollout is not None:
        return week_start_of(settings.general_rollout)
    if any(c.end is None for c in pilots.cohorts):
        return None
    return max(_monday_on_or_after(c.end + dt.timedelta(days=1)) for c in pilots.cohorts)  # type: ignore[operator]


def team_kpi_panel(kpi_values: pl.DataFrame, kpi_registry: KpiRegistry, person_week: pl.DataFrame) -> pl.DataFrame:
    """Weekly team KPIs with each team's pilot assignment, the unit the KPI effects and power use.

    Grain: one row per weekly team KPI of the registry x team x week (``week_start`` = Monday of
    the KPI's ``period_start``). Columns: ``kpi, unit_id, week_start, value`` and, from
    :func:`team_pilot_assignment`, ``cohort, first_treat, support_level`` (null for teams of no
    cohort or teams absent from person-week).
    """
    teams = team_pilot_assignment(person_week)
    return (
        kpi_values.filter(pl.col("kpi").is_in(weekly_team_kpis(kpi_registry)) & (pl.col("unit_type") == "team"))
        .select("kpi", "unit_id", week_start_expr("period_start").alias("week_start"), "value")
        .join(teams.select("unit_id", "cohort", "first_treat", "support_level"), on="unit_id", how="left")
    )


def _monday_on_or_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)
