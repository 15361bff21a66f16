"""The report's headline: a few numbers of the week with their change on the week before.

All come from the published adoption curve (``marts.adoption_curve``, kind activity); the
denominator of every share is the eligible headcount from the HR directory that week. A figure
whose cell is suppressed (or absent) is ``None`` and shown as "n/a".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from transforms.contracts.actions import Tier
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE
from transforms.report import format as fmt
from transforms.report.charts import publishable
from transforms.report.i18n import _, ngettext
from transforms.report.inputs import require_columns
from transforms.report.vocabulary import tier_in_words

__all__ = ["Headline", "HeadlineFigure", "StateEquivalence", "headline", "population_value", "state_equivalence"]


@dataclass(frozen=True)
class HeadlineFigure:
    """One headline number: its value this week, last week, and how to say both."""

    key: str
    label: str
    value: float | None
    previous: float | None
    value_text: str
    change_text: str

    @property
    def change(self) -> float | None:
        if fmt.is_number(self.value) and fmt.is_number(self.previous):
            return self.value - self.previous  # type: ignore[operator]
        return None


@dataclass(frozen=True)
class Headline:
    """The headline of one week: eligible headcount and the four headline figures."""

    week_start: dt.date
    previous_week: dt.date | None
    eligible: float | None
    figures: tuple[HeadlineFigure, ...]

    def get(self, key: str) -> HeadlineFigure:
        for f in self.figures:
            if f.key == key:
                return f
        raise KeyError(f"no headline figure {key!r}; have {', '.join(f.key for f in self.figures)}")

    def as_metadata(self) -> dict[str, float | str | None]:
        """Flat numbers for Dagster metadata: shares in %, the gap in points, counts as counts."""
        out: dict[str, float | str | None] = {"eligible": self.eligible}
        for f in self.figures:
            scale = 100.0 if f.key in ("active_share", "ever_active_share") else 1.0
            out[f.key] = None if f.value is None else round(scale * f.value, 2)
            out[f"{f.key}_change"] = None if f.change is None else round(scale * f.change, 2)
        return out


def population_value(curve: pl.DataFrame, week: dt.date | None, population_type: str, population: str,
                     column: str, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> float | None:
    """One published cell of the adoption curve, or ``None`` if absent or below the minimum group size."""
    if week is None:
        return None
    rows = publishable(
        curve.filter((pl.col("week_start") == week) & (pl.col("population_type") == population_type)
                     & (pl.col("population") == population)),
        size_columns=["eligible"], min_group_size=min_group_size,
    )
    if rows.height == 0 or rows[column][0] is None:
        return None
    return float(rows[column][0])


@dataclass(frozen=True)
class StateEquivalence:
    """Which person-week states are the same people in every published week of a drop zone.

    ``active_is_engaged``: no reading-only week anywhere (no source shows passive use, e.g. Slack or
    Teams exports only); ``engaged_is_contributor``: no reaction-only week (no source shows
    reactions). When true, the two metrics are identical by construction and are said once.
    """

    active_is_engaged: bool
    engaged_is_contributor: bool

    def sentence(self) -> str | None:
        """One sentence saying so, or ``None`` when the three states differ."""
        if self.active_is_engaged and self.engaged_is_contributor:
            return _("This drop zone shows no reading activity and no reactions (no source records them): active "
                     "means contributed, and engaged and contributor figures are the same numbers.")
        if self.active_is_engaged:
            return _("This drop zone shows no reading activity (no source records reads or visits): active means "
                     "reacted or contributed, and the engaged figures are the same numbers.")
        if self.engaged_is_contributor:
            return _("This drop zone shows no reactions (no source records them): engaged means contributed, and the "
                     "contributor figures are the same numbers.")
        return None


def state_equivalence(curve: pl.DataFrame) -> StateEquivalence:
    """Compare the organisation's weekly active, engaged and contributor counts over every published week."""
    org = curve.filter(pl.col("population_type") == "organisation")
    cols = [c for c in ("active", "engaged", "contributors") if c in org.columns]
    if len(cols) < 3 or org.height == 0:
        return StateEquivalence(False, False)
    rows = org.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in cols))
    if rows.height == 0:
        return StateEquivalence(False, False)
    return StateEquivalence(bool((rows["active"] == rows["engaged"]).all()),
                            bool((rows["engaged"] == rows["contributors"]).all()))


def _gap_points(curve: pl.DataFrame, week: dt.date | None, min_group_size: int) -> float | None:
    office = population_value(curve, week, "worker_type", "office", "active_rate", min_group_size=min_group_size)
    front = population_value(curve, week, "worker_type", "frontline", "active_rate", min_group_size=min_group_size)
    if office is None or front is None:
        return None
    return 100 * (office - front)


def headline(curve: pl.DataFrame, week_start: dt.date, *,
             min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Headline:
    """Headline figures of ``week_start`` from the adoption curve, with changes on the previous week.

    - ``active_share``: active / eligible, whole organisation (a share; change in points).
    - ``contributors``: people with a contribution-tier action (posted, replied, shared or uploaded:
      the words come from the action vocabulary); a count, change in people.
    - ``ever_active_share``: eligible people active at least once so far / eligible.
    - ``frontline_gap``: office minus frontline active share, in points (positive = frontline behind).

    The previous week is the latest week before ``week_start`` present in the curve.
    """
    require_columns(curve, ["week_start", "population_type", "population", "eligible", "active_rate",
                            "contributors", "ever_active_rate"], table="marts.adoption_curve")
    weeks = sorted(w for w in curve.filter(pl.col("population_type") == "organisation")["week_start"].unique()
                   .drop_nulls().to_list() if w < week_start)
    prev = weeks[-1] if weeks else None

    def org(week: dt.date | None, col: str) -> float | None:
        return population_value(curve, week, "organisation", "organisation", col, min_group_size=min_group_size)

    active, active_prev = org(week_start, "active_rate"), org(prev, "active_rate")
    contrib, contrib_prev = org(week_start, "contributors"), org(prev, "contributors")
    ever, ever_prev = org(week_start, "ever_active_rate"), org(prev, "ever_active_rate")
    gap, gap_prev = _gap_points(curve, week_start, min_group_size), _gap_points(curve, prev, min_group_size)

    def change(now: float | None, before: float | None, render) -> str:
        if not (fmt.is_number(now) and fmt.is_number(before)):
            return _("no previous week to compare") if prev is None else _("change n/a")
        return _("{change} on {week}").format(change=render(now - before),
                                              week=fmt.week_label(prev, relative_to=week_start))

    def people(d: float) -> str:
        n = round(d)
        if not n:
            return _("no change in people")
        return ngettext("{n} person", "{n} people", n).format(n=fmt.signed(n, 0))

    rate_of = org(week_start, "contributor_rate")
    same = state_equivalence(curve)
    if same.active_is_engaged and same.engaged_is_contributor:
        rate_of = None  # the share is the first figure again: said once (see StateEquivalence)
    actions = tier_in_words(Tier.CONTRIBUTION)
    if rate_of is not None:
        contributors = _("contributors ({actions}), {share} of the workforce").format(
            actions=actions, share=fmt.pct(rate_of, 1))
    elif same.active_is_engaged and same.engaged_is_contributor:
        contributors = _("contributors ({actions}): the same people as the active ones (no reads or reactions in "
                         "this drop zone)").format(actions=actions)
    else:
        contributors = _("contributors ({actions})").format(actions=actions)
    figures = (
        HeadlineFigure("active_share", _("of the workforce active this week"), active, active_prev,
                       fmt.pct(active, 1), change(active, active_prev, fmt.signed_pct_points)),
        HeadlineFigure("contributors", contributors,
                       contrib, contrib_prev, fmt.count(contrib), change(contrib, contrib_prev, people)),
        HeadlineFigure("ever_active_share", _("have been active at least once"), ever, ever_prev, fmt.pct(ever, 1),
                       change(ever, ever_prev, fmt.signed_pct_points)),
        HeadlineFigure("frontline_gap", _("frontline gap: office minus frontline active share"), gap, gap_prev,
                       fmt.na() if gap is None else _("{value} pts").format(value=fmt.number(gap, 1)),
                       change(gap, gap_prev, fmt.signed_points)),
    )
    return Headline(week_start=week_start, previous_week=prev, eligible=org(week_start, "eligible"), figures=figures)
