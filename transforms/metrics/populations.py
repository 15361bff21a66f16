"""Populations: the groups every metric can be cut by, and checks on the person-week input.

A *population type* is either ``organisation`` (everyone), ``pilot_cohort`` (each cohort, and
``non_pilot``), ``pilot_wave`` (``wave <n>`` and ``non_pilot``), or the name of any HR attribute
column of ``marts.person_week`` (``department``, ``site``, ``worker_type``, ``level``...). A
person-week falls in exactly one population of each type, so the populations of one type
partition the organisation: a missing attribute becomes the population ``(unknown)``, which is
what lets complementary suppression protect small cells against subtraction from totals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import polars as pl

from transforms.contracts import ContractError

__all__ = [
    "ANALYSIS_POPULATIONS",
    "BASS_POPULATIONS",
    "DEFAULT_POPULATIONS",
    "NON_PILOT",
    "ORGANISATION",
    "UNKNOWN",
    "aggregate_by_population",
    "population_expr",
    "require_columns",
    "require_unique_person_weeks",
    "with_population",
    "with_populations",
]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

ORGANISATION = "organisation"
NON_PILOT = "non_pilot"
UNKNOWN = "(unknown)"

DEFAULT_POPULATIONS: tuple[str, ...] = (
    "organisation",
    "pilot_cohort",
    "pilot_wave",
    "department",
    "site",
    "worker_type",
    "country",
    "level",
    "tenure_band",
    "is_manager",
)


#: Population cuts of the analytics marts besides the adoption curve (which uses all of the above).
ANALYSIS_POPULATIONS: tuple[str, ...] = ("organisation", "worker_type", "pilot_wave", "department", "site")
#: Populations the Bass diffusion model is fitted for.
BASS_POPULATIONS: tuple[str, ...] = ("organisation", "worker_type")


def require_columns(frame: pl.DataFrame, columns: Sequence[str], *, table: str) -> None:
    """Raise :class:`ContractError` naming ``table`` and the missing columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ContractError(
            f"missing column(s) {', '.join(missing)}; expected {table} with columns {', '.join(columns)}",
            file=table,
        )


def _source_columns(population_type: str) -> list[str]:
    if population_type == ORGANISATION:
        return []
    return [population_type]


def population_expr(population_type: str) -> pl.Expr:
    """The population a row belongs to, as a string, for one population type."""
    if population_type == ORGANISATION:
        return pl.lit(ORGANISATION)
    if population_type == "pilot_wave":
        return (
            pl.when(pl.col("pilot_wave").is_null())
            .then(pl.lit(NON_PILOT))
            .otherwise(pl.format("wave {}", pl.col("pilot_wave")))
        )
    if population_type == "pilot_cohort":
        return pl.col("pilot_cohort").cast(pl.Utf8).fill_null(NON_PILOT)
    return pl.col(population_type).cast(pl.Utf8).fill_null(UNKNOWN)


def require_unique_person_weeks(frame: pl.DataFrame, *, table: str = "person_week") -> None:
    """Raise :class:`ContractError` naming a duplicated (person_key, week_start), if any.

    As many distinct hashes of (person_key, week_start) as rows proves the rows distinct without
    grouping the strings (a quarter of the time on millions of rows); a hash collision, or a real
    duplicate, falls through to the exact grouped check."""
    if frame.select(pl.struct("person_key", "week_start").hash().n_unique()).item() == frame.height:
        return
    dupes = frame.group_by("person_key", "week_start").len().filter(pl.col("len") > 1)
    if dupes.height:
        first = dupes.row(0, named=True)
        raise ContractError(
            f"{dupes.height} duplicated person-week(s), e.g. person_key={first['person_key']!r} "
            f"week_start={first['week_start']}; expected one row per person and week",
            file=table, locator="person_key, week_start",
        )


def with_population(frame: FrameT, population_type: str, *, table: str = "person_week") -> FrameT:
    """``frame`` with ``population_type`` and ``population`` columns for one type (a new frame)."""
    names = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
    missing = [c for c in _source_columns(population_type) if c not in names]
    if missing:
        raise ContractError(f"missing column(s) {', '.join(missing)} for population type {population_type!r}",
                            file=table)
    return frame.with_columns(
        pl.lit(population_type).alias("population_type"),
        population_expr(population_type).alias("population"),
    )


def population_source_columns(populations: Sequence[str], frame: pl.DataFrame) -> list[str]:
    """The columns of ``frame`` that the population types ``populations`` are derived from."""
    if isinstance(populations, str):
        populations = (populations,)
    return [c for c in dict.fromkeys(c for p in populations for c in _source_columns(p)) if c in frame.columns]


def with_populations(
    frame: pl.DataFrame, populations: Sequence[str], *, table: str = "person_week",
    keep: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Long frame: every row of ``frame`` once per population type, tagged with its population.

    ``keep``: the only columns of ``frame`` to carry besides ``population_type`` and ``population``
    (default: all). The long frame has one copy of each row per type: on a person-week table of
    millions of rows, carrying only what the metric reads is the difference between a few hundred
    MiB and ten GiB.
    """
    return aggregate_by_population(frame, populations, keep=keep, table=table, aggregate=lambda part: part)


def aggregate_by_population(
    frame: pl.DataFrame, populations: Sequence[str], *, keep: Sequence[str] | None,
    aggregate: Callable[[pl.DataFrame], pl.DataFrame], table: str = "person_week",
) -> pl.DataFrame:
    """``aggregate`` applied to each population type's part of :func:`with_populations`' long
    frame, the results stacked: the same as aggregating the long frame by ``population_type``
    (and more), while only one type's copy of the rows exists at a time. On 5 million
    person-weeks and seven types, the long frame alone is several GiB.
    """
    if isinstance(populations, str):
        populations = (populations,)
    if not populations:
        raise ValueError("populations must name at least one population type")
    dupes = sorted({p for p in populations if list(populations).count(p) > 1})
    if dupes:
        raise ValueError(f"population type(s) listed twice: {', '.join(dupes)}")
    if keep is not None:
        require_columns(frame, keep, table=table)
    parts = []
    for p in populations:
        if keep is None:
            part = with_population(frame, p, table=table)
        else:
            narrow = frame.select(c for c in dict.fromkeys([*keep, *_source_columns(p)]) if c in frame.columns)
            part = with_population(narrow, p, table=table).select(*keep, "population_type", "population")
        parts.append(aggregate(part))
    return pl.concat(parts, how="vertical")
