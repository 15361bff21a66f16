"""Managers and executives as relays of adoption, and the identity prerequisites behind every number.

- :func:`manager_relay_effect`: a linear probability model of a team member's weekly activity
  on their manager's activity the week before (week fixed effects, controls, SEs clustered by
  manager). Estimand, as the simulator plants it: *the effect of the manager being active in
  week t-1 on the probability that an ADOPTED team member (first active week < t) is active in
  week t, in percentage points*. It is an observational estimate: a manager's activity is not
  randomised, so read it as adjusted association unless the design supports more.
- :func:`team_uptake_by_manager_activity`: the descriptive counterpart, week by week.
- :func:`leader_activity` and :func:`leader_content_reach`: activity of the top levels and the
  distinct people who read, react to or reply to what they post.
- :func:`identity_prerequisites`: identity-match and profile-completeness rates side by side.

Team = the people whose ``manager_key`` is the manager that week; the manager's own activity is
read from the manager's own person-week row (``person_key`` = ``manager_key``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import duckdb
import numpy as np
import polars as pl

from transforms.contracts import ContractError
from transforms.contracts.actions import Tier, actions_of_tier
from transforms.metrics.history import with_first_active
from transforms.metrics.populations import require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_small_arms
from transforms.warehouse import register_frame, sql_literal

log = logging.getLogger(__name__)

__all__ = [
    "RELAY_CONTROLS",
    "RELAY_ESTIMAND",
    "identity_prerequisites",
    "leader_activity",
    "LEADER_HUMAN_EVENTS",
    "LEADER_REACHED",
    "LEADER_REACH_PER_WEEK",
    "LEADER_REACH_ROWS",
    "leader_content_reach",
    "leader_reach_counts",
    "manager_relay_effect",
    "manager_relay_panel",
    "sql_list",
    "team_uptake_by_manager_activity",
]

RELAY_ESTIMAND = (
    "effect of the manager being active in week t-1 on the probability that an adopted team member "
    "(first_active_week < t) is active in week t, percentage points"
)
#: Default controls: team size (numeric) and categorical department, worker type, pilot status.
RELAY_CONTROLS: tuple[str, ...] = ("team_size", "department", "worker_type", "pilot_status")
#: Leaders: people at this level or above (1 = top).
LEADER_MAX_LEVEL = 2
#: Actions that put content of one's own on the platform (leader content).
CONTRIBUTION_ACTIONS: tuple[str, ...] = actions_of_tier(Tier.CONTRIBUTION)
#: Actions that reach someone else's content: reading, visiting, reacting to it, or replying in its thread.
INTERACTION_ACTIONS: tuple[str, ...] = (*actions_of_tier(Tier.PASSIVE), *actions_of_tier(Tier.REACTION), "reply")


def manager_relay_panel(person_week: pl.DataFrame, *, adopted_only: bool = True,
                        columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Member-weeks with the manager's activity the week before (person-level, not for publication).

    Grain: one row per team member x week t whose manager has a person-week row in week t-1
    (and, with ``adopted_only``, whose first active week ever is before t). Columns: the member's
    row (only ``columns`` of it and the keys, when given: the joins copy every column carried)
    plus ``first_active``, ``manager_active_prev`` (bool), ``team_size`` (the manager's eligible
    direct reports in week t) and ``adopted``.
    """
    require_columns(
        person_week,
        ["person_key", "week_start", "manager_key", "is_active", "first_active_week"],
        table="person_week",
    )
    rows = with_first_active(person_week)
    if columns is not None:
        rows = rows.select(list(dict.fromkeys(["person_key", "week_start", "manager_key", "is_active", "first_active",
                                               *columns])))
    managers_prev = rows.select(
        pl.col("person_key").alias("manager_key"),
        (pl.col("week_start") + dt.timedelta(weeks=1)).alias("week_start"),
        pl.col("is_active").alias("manager_active_prev"),
    )
    team_size = (
        rows.filter(pl.col("manager_key").is_not_null())
        .group_by("manager_key", "week_start")
        .agg(pl.len().cast(pl.Int32).alias("team_size"))
    )
    panel = (
        rows.filter(pl.col("manager_key").is_not_null())
        .join(managers_prev, on=["manager_key", "week_start"], how="inner")
        .join(team_size, on=["manager_key", "week_start"], how="left")
        .with_columns((pl.col("first_active") < pl.col("week_start")).fill_null(False).alias("adopted"))
    )
    if adopted_only:
        panel = panel.filter(pl.col("adopted"))
    return panel


def _demean_by(matrix: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Subtract group means column-wise (absorbs fixed effects of ``groups``)."""
    codes, inverse = np.unique(groups, return_inverse=True)
    # per-column weighted bincounts: the same sums, in row order, as np.add.at, in a tenth of the time
    sums = np.column_stack([np.bincount(inverse, weights=matrix[:, j], minlength=codes.size)
                            for j in range(matrix.shape[1])])
    counts = np.bincount(inverse, minlength=codes.size).astype(float)[:, None]
    return matrix - (sums / counts)[inverse]


@table_function(kind=MetricKind.ACTIVITY, metrics=("manager_relay_effect_pp",), grain="organisation (pooled)")
def manager_relay_effect(
    person_week: pl.DataFrame,
    *,
    controls: tuple[str, ...] = RELAY_CONTROLS,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Manager-relay estimate: percentage-point change in an adopted member's weekly active probability
    when their manager was active the week before, with a (1 - alpha) interval.

    Grain: one row (the pooled estimate). Sample (denominator): adopted member-weeks of
    :func:`manager_relay_panel`. Model: linear probability model ``active_it = b * manager_active_(t-1)
    + controls + week_t + e`` by OLS (statsmodels), week fixed effects absorbed by within-week
    demeaning (Frisch-Waugh-Lovell: the same ``b`` as week dummies), standard errors clustered by
    manager. Categorical controls enter as dummies (nulls as their own level), ``team_size`` as a
    number. Suppressed (estimate null) when either arm (members whose manager was active / inactive)
    or the number of managers is below ``min_group_size``.
    """
    numeric = [c for c in controls if c == "team_size"]
    categorical = [c for c in controls if c != "team_size"]
    require_columns(person_week, categorical, table="person_week")
    panel = manager_relay_panel(person_week, adopted_only=True, columns=categorical)
    arms = {
        "members_manager_active": panel.filter(pl.col("manager_active_prev"))["person_key"].n_unique(),
        "members_manager_inactive": panel.filter(~pl.col("manager_active_prev"))["person_key"].n_unique(),
        "managers": panel["manager_key"].n_unique(),
    }
    row: dict[str, object] = {
        "estimand": RELAY_ESTIMAND,
        "method": "OLS linear probability model, week fixed effects, cluster-robust SE by manager",
        "estimate_pp": None, "std_error_pp": None, "ci_low_pp": None, "ci_high_pp": None, "p_value": None,
        "n_member_weeks": panel.height, "n_members": panel["person_key"].n_unique(),
        "n_weeks": panel["week_start"].n_unique(), **arms,
    }
    estimable = panel.height > 0 and min(arms.values()) >= 2 and panel["manager_active_prev"].n_unique() == 2
    if estimable:
        design = panel.select(
            pl.col("manager_active_prev").cast(pl.Float64),
            *[pl.col(c).cast(pl.Float64).fill_null(0.0) for c in numeric],
        )
        if categorical:
            dummies = panel.select(
                [pl.col(c).cast(pl.Utf8).fill_null("(none)").alias(c) for c in categorical]
            ).to_dummies(drop_first=True)
            design = design.hstack(dummies.cast(pl.Float64))
        x = design.to_numpy()
        y = panel["is_active"].cast(pl.Float64).to_numpy()[:, None]
        weeks = panel["week_start"].to_physical().to_numpy()
        xy = _demean_by(np.hstack([y, x]), weeks)
        y_dm, x_dm = xy[:, 0], xy[:, 1:]
        keep = np.abs(x_dm).max(axis=0) > 1e-12  # drop controls constant within weeks
        keep[0] = True
        from statsmodels.regression.linear_model import OLS  # heavy import, only when estimating

        groups = np.unique(panel["manager_key"].to_numpy(), return_inverse=True)[1]
        # no constant: the week fixed effects absorbed it (saying so spares statsmodels its search for one)
        fit = OLS(y_dm, x_dm[:, keep], hasconst=False).fit(cov_type="cluster", cov_kwds={"groups": groups})
        lo, hi = fit.conf_int(alpha=alpha)[0]
        row.update(
            estimate_pp=100 * float(fit.params[0]), std_error_pp=100 * float(fit.bse[0]),
            ci_low_pp=100 * float(lo), ci_high_pp=100 * float(hi), p_value=float(fit.pvalues[0]),
        )
        log.info("manager relay: %.2f pp [%.2f, %.2f] on %d member-weeks, %d managers",
                 row["estimate_pp"], row["ci_low_pp"], row["ci_high_pp"], panel.height, arms["managers"])
    else:
        log.warning("manager relay not estimable: %d member-weeks, arms %s", panel.height, arms)
    table = pl.DataFrame([row], schema={
        "estimand": pl.Utf8, "method": pl.Utf8, "estimate_pp": pl.Float64, "std_error_pp": pl.Float64,
        "ci_low_pp": pl.Float64, "ci_high_pp": pl.Float64, "p_value": pl.Float64, "n_member_weeks": pl.Int64,
        "n_members": pl.Int64, "n_weeks": pl.Int64, "members_manager_active": pl.Int64,
        "members_manager_inactive": pl.Int64, "managers": pl.Int64,
    }).with_columns(pl.lit(1 - alpha).alias("interval_level"))
    published = suppress_small_arms(
        table, size_columns=["members_manager_active", "members_manager_inactive", "managers"],
        value_columns=["estimate_pp", "std_error_pp", "ci_low_pp", "ci_high_pp", "p_value"],
        min_group_size=min_group_size,
    )
    return with_kind(published, MetricKind.ACTIVITY)


@table_function(kind=MetricKind.ACTIVITY, metrics=("team_active_rate_by_manager",), grain="week x manager arm")
def team_uptake_by_manager_activity(
    person_week: pl.DataFrame,
    *,
    adopted_only: bool = True,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Active rate of team members whose manager was active vs inactive the week before, per week.

    Grain: one row per week, plus a pooled row (``scope`` = 'pooled', ``week_start`` null).
    Denominator of each arm's rate: the (adopted, by default) team members in that arm that week
    (pooled: member-weeks). ``difference_points`` = (active-manager rate - inactive-manager rate)
    x 100, unadjusted (see :func:`manager_relay_effect` for the adjusted estimate). Rows where
    either arm has fewer than ``min_group_size`` distinct members are suppressed.
    """
    panel = manager_relay_panel(person_week, adopted_only=adopted_only, columns=())

    def arm(frame: pl.DataFrame, active: bool, keys: list[str]) -> pl.DataFrame:
        tag = "manager_active" if active else "manager_inactive"
        part = frame.filter(pl.col("manager_active_prev") == active)
        aggs = [
            pl.col("person_key").n_unique().cast(pl.Int64).alias(f"people_{tag}"),
            pl.len().cast(pl.Int64).alias(f"members_{tag}"),
            pl.col("is_active").sum().cast(pl.Int64).alias(f"active_{tag}"),
        ]
        return part.group_by(keys).agg(aggs) if keys else part.select(aggs)

    weekly = arm(panel, True, ["week_start"]).join(arm(panel, False, ["week_start"]), on="week_start",
                                                     how="full", coalesce=True)
    pooled = arm(panel, True, []).hstack(arm(panel, False, [])).with_columns(
        pl.lit(None, dtype=pl.Date).alias("week_start")
    )
    table = pl.concat(
        [weekly.with_columns(pl.lit("week").alias("scope")),
         pooled.with_columns(pl.lit("pooled").alias("scope")).select([*weekly.columns, "scope"])],
        how="vertical",
    ).with_columns(pl.col("^(people|members|active)_.*$").fill_null(0)).with_columns(
        (pl.col("active_manager_active") / pl.col("members_manager_active")).alias("rate_manager_active"),
        (pl.col("active_manager_inactive") / pl.col("members_manager_inactive")).alias("rate_manager_inactive"),
    ).with_columns(
        ((pl.col("rate_manager_active") - pl.col("rate_manager_inactive")) * 100).alias("difference_points")
    )
    values = ["members_manager_active", "active_manager_active", "rate_manager_active", "members_manager_inactive",
              "active_manager_inactive", "rate_manager_inactive", "difference_points"]
    published = suppress_small_arms(
        table, size_columns=["people_manager_active", "people_manager_inactive"], value_columns=values,
        min_group_size=min_group_size,
    )
    return with_kind(
        published.sort(pl.col("week_start"), nulls_last=True).select("scope", "week_start", *values, "suppressed")
        .with_columns(pl.lit(adopted_only).alias("adopted_only")),
        MetricKind.ACTIVITY,
    )


@table_function(kind=MetricKind.ACTIVITY, metrics=("leader_active_rate",), grain="week")
def leader_activity(
    person_week: pl.DataFrame,
    *,
    max_level: int = LEADER_MAX_LEVEL,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Activity of the top levels (``level`` <= ``max_level``; 1 = top) per week.

    Grain: one row per week. Denominator: ``leaders`` = eligible people at those levels that week.
    Weeks with fewer than ``min_group_size`` leaders are suppressed.
    """
    require_columns(person_week, ["person_key", "week_start", "level", "is_active", "is_contributor"],
                    table="person_week")
    leaders = person_week.filter(pl.col("level") <= max_level)
    weeks = person_week.select("week_start").unique()
    cells = weeks.join(
        leaders.group_by("week_start").agg(
            pl.col("person_key").n_unique().cast(pl.Int64).alias("leaders"),
            pl.col("person_key").filter(pl.col("is_active")).n_unique().cast(pl.Int64).alias("active"),
            pl.col("person_key").filter(pl.col("is_contributor")).n_unique().cast(pl.Int64).alias("contributors"),
        ),
        on="week_start", how="left",
    ).with_columns(pl.col("leaders", "active", "contributors").fill_null(0)).with_columns(
        (pl.col("active") / pl.col("leaders")).alias("active_rate"),
        (pl.col("contributors") / pl.col("leaders")).alias("contributor_rate"),
    )
    published = suppress_small_arms(
        cells, size_columns=["leaders"],
        value_columns=["leaders", "active", "contributors", "active_rate", "contributor_rate"],
        min_group_size=min_group_size,
    )
    return with_kind(published.sort("week_start").with_columns(pl.lit(max_level).alias("max_level")),
                     MetricKind.ACTIVITY)


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """The values as a comma-separated list of SQL string literals."""
    return ", ".join(sql_literal(v) for v in values)


#: The events of people (not automated), with the columns the leaders' reach reads; {events}: clean
#: events with person_key and week_start.
LEADER_HUMAN_EVENTS = """
    SELECT source, event_id, account_id, person_key, action, content_id, thread_id, occurred_at, week_start
    FROM {events} WHERE NOT coalesce(is_automated, false)
"""

#: The interactions of others with leader content (``content``: content_id, author_key,
#: author_account, posted_week) among ``human``, from the week the content was posted on.
LEADER_REACHED = """
    SELECT i.week_start, i.person_key, i.account_id, i.action
    FROM human i
    JOIN content c ON c.content_id = CASE WHEN i.action = 'reply' THEN i.thread_id ELSE i.content_id END
    WHERE i.action IN ({interaction}) AND i.week_start >= c.posted_week
      AND (i.person_key IS NULL OR i.person_key <> c.author_key) AND i.account_id <> c.author_account
"""

#: Per week of the interaction, the reach of the interactions of ``reached`` (week, person key,
#: account, action).
LEADER_REACH_PER_WEEK = """
    SELECT week_start,
           count(DISTINCT person_key) AS reach_people,
           count(DISTINCT account_id) FILTER (WHERE person_key IS NULL) AS unresolved_accounts,
           count(*) FILTER (WHERE action = 'react') AS reactions,
           count(*) FILTER (WHERE action = 'reply') AS replies,
           count(*) FILTER (WHERE action IN ('read', 'visit')) AS reads
    FROM reached GROUP BY ALL
"""

#: One row per week from ``posted`` (week_start, leader_content_items) and ``reach``.
LEADER_REACH_ROWS = """
    SELECT coalesce(p.week_start, r.week_start) AS week_start, p.leader_content_items, r.reach_people,
           r.unresolved_accounts, r.reactions, r.replies, r.reads
    FROM posted p FULL JOIN reach r ON r.week_start = p.week_start
"""

# The top levels' content (first contribution per content id) and the interactions of others with
# it, reduced to weekly counts inside DuckDB; {person_week}: person x week with level. ``human`` is
# read twice: NOT MATERIALIZED keeps DuckDB from holding every event in memory (a materialised CTE
# took 11 GiB at 100 M events).
_LEADER_REACH_SQL = f"""
WITH human AS NOT MATERIALIZED ({LEADER_HUMAN_EVENTS}),
leaders AS (SELECT DISTINCT person_key, week_start FROM {{person_week}} WHERE level <= {{max_level}}),
content AS (
    SELECT h.content_id, h.person_key AS author_key, h.account_id AS author_account, h.week_start AS posted_week
    FROM human h JOIN leaders l ON l.person_key = h.person_key AND l.week_start = h.week_start
    WHERE h.action IN ({{contribution}}) AND h.content_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY h.content_id ORDER BY h.source, h.occurred_at, h.event_id) = 1
),
reached AS ({LEADER_REACHED}),
posted AS (SELECT posted_week AS week_start, count(*) AS leader_content_items FROM content GROUP BY ALL),
reach AS ({LEADER_REACH_PER_WEEK})
{LEADER_REACH_ROWS}
"""

LEADER_REACH_COUNT_COLUMNS = ("leader_content_items", "reach_people", "unresolved_accounts", "reactions", "replies",
                              "reads")


def leader_reach_counts(con: duckdb.DuckDBPyConnection, events: str, person_week: str, *,
                        max_level: int = LEADER_MAX_LEVEL) -> pl.DataFrame:
    """The top levels' content items per week posted, and per week of the interaction the people and
    accounts who read, reacted to or replied to it, counted inside DuckDB from the relations
    ``events`` and ``person_week`` (names on ``con``): one row per week, no event leaves the engine."""
    sql = _LEADER_REACH_SQL.format(events=events, person_week=person_week, max_level=int(max_level),
                                   contribution=sql_list(CONTRIBUTION_ACTIONS),
                                   interaction=sql_list(INTERACTION_ACTIONS))
    counts = con.execute(sql).pl()
    return counts.select(pl.col("week_start").cast(pl.Date), *(pl.col(c).cast(pl.Int64) for c in LEADER_REACH_COUNT_COLUMNS))


@table_function(kind=MetricKind.ACTIVITY, metrics=("leader_content_reach",), grain="week")
def leader_content_reach(
    events: pl.DataFrame | None,
    person_week: pl.DataFrame,
    *,
    max_level: int = LEADER_MAX_LEVEL,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Reach of the top levels' content: distinct people who read, reacted to or replied to it, per week.

    Grain: one row per week of the interaction. Leader content = the ``content_id`` of every post,
    reply, share or upload by a person at ``level`` <= ``max_level`` in the week they made it.
    An interaction is a non-automated read/visit/react on that ``content_id`` or a reply whose
    ``thread_id`` is that content, by someone other than its author, in the week the content was
    posted or later (one dated earlier is a clock error and is not counted). ``reach_people`` counts
    distinct resolved people (``person_key``); denominator of ``reach_rate``: eligible headcount
    that week. Interactions by accounts not resolved to an employee are counted apart
    (``unresolved_accounts``). Rows with fewer than ``min_group_size`` leaders or reached people
    are suppressed. The events are counted by :func:`leader_reach_counts` (DuckDB); pass its
    result as ``counts`` (``events`` is then not read) to count a warehouse's events in place.
    """
    require_columns(person_week, ["person_key", "week_start", "level"], table="person_week")
    if counts is None:
        if events is None:
            raise ValueError("leader_content_reach: pass the events or their counts")
        require_columns(
            events,
            ["account_id", "action", "content_id", "thread_id", "is_automated", "person_key", "week_start"],
            table="events",
        )
        ev = events
        for column, dtype in (("source", pl.Utf8), ("event_id", pl.Utf8), ("occurred_at", pl.Datetime("us"))):
            if column not in ev.columns:
                ev = ev.with_columns(pl.lit(None, dtype=dtype).alias(column))
        levels = person_week.select("person_key", "week_start", "level")
        with (duckdb.connect() as con, register_frame(con, "__leader_events", ev) as events_view,
              register_frame(con, "__leader_person_week", levels) as levels_view):
            counts = leader_reach_counts(con, events_view, levels_view, max_level=max_level)
    eligible = person_week.group_by("week_start").agg(
        pl.col("person_key").n_unique().cast(pl.Int64).alias("eligible"),
        pl.col("person_key").filter(pl.col("level") <= max_level).n_unique().cast(pl.Int64).alias("leaders"),
    )
    posted = counts.select("week_start", "leader_content_items")
    reach = counts.select("week_start", *LEADER_REACH_COUNT_COLUMNS[1:])
    cells = (
        eligible.join(posted, on="week_start", how="left").join(reach, on="week_start", how="left")
        .with_columns(pl.col("leader_content_items", "reach_people", "unresolved_accounts", "reactions", "replies",
                             "reads").fill_null(0))
        .with_columns((pl.col("reach_people") / pl.col("eligible")).alias("reach_rate"))
    )
    published = suppress_small_arms(
        cells, size_columns=["leaders", "reach_people"],
        value_columns=["reach_people", "unresolved_accounts", "reactions", "replies", "reads", "reach_rate"],
        min_group_size=min_group_size,
    )
    return with_kind(
        published.sort("week_start").select(
            "week_start", "eligible", "leaders", "leader_content_items", "reach_people", "reach_rate",
            "unresolved_accounts", "reactions", "replies", "reads", "suppressed",
        ),
        MetricKind.ACTIVITY,
    )


@table_function(kind=MetricKind.PREREQUISITE, metrics=("identity_match_rate", "profile_completeness"),
                grain="prerequisite x item")
def identity_prerequisites(match_report: pl.DataFrame, hr_completeness: pl.DataFrame) -> pl.DataFrame:
    """Identity-match rates per platform source and profile completeness per HR field, in one tidy table.

    Grain: one row per prerequisite x item (a platform source or an HR field). Denominators: the
    source's platform accounts (match rate), the employees of the HR directory (completeness).
    Inputs: ``match_report`` with ``source`` and ``match_rate`` (and optionally ``accounts``,
    ``matched``); ``hr_completeness`` with ``field`` and ``completeness`` (and optionally
    ``employees``, ``filled``). Rates outside [0, 1] raise :class:`ContractError` naming the row.
    """
    require_columns(match_report, ["source", "match_rate"], table="identity_match_report")
    require_columns(hr_completeness, ["field", "completeness"], table="hr_completeness")

    def part(frame: pl.DataFrame, name: str, item: str, rate: str, num: str, den: str, table: str) -> pl.DataFrame:
        out = frame.select(
            pl.lit(name).alias("prerequisite"),
            pl.col(item).cast(pl.Utf8).alias("item"),
            (pl.col(num).cast(pl.Int64) if num in frame.columns else pl.lit(None, dtype=pl.Int64)).alias("numerator"),
            (pl.col(den).cast(pl.Int64) if den in frame.columns else pl.lit(None, dtype=pl.Int64)).alias("denominator"),
            pl.col(rate).cast(pl.Float64).alias("rate"),
        )
        bad = out.with_row_index("row").filter(~pl.col("rate").is_between(0, 1) | pl.col("rate").is_null())
        if bad.height:
            r = bad.row(0, named=True)
            raise ContractError(f"{rate} must be a share in [0, 1], found {r['rate']!r} for {r['item']!r}",
                                file=table, locator=f"row {r['row'] + 1}")
        return out

    combined = pl.concat([
        part(match_report, "identity_match_rate", "source", "match_rate", "matched", "accounts",
             "identity_match_report"),
        part(hr_completeness, "profile_completeness", "field", "completeness", "filled", "employees",
             "hr_completeness"),
    ])
    return with_kind(combined, MetricKind.PREREQUISITE)
