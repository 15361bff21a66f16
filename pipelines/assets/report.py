"""Report layer: the data-quality tables the report shows (``quality.coverage`` ...), the weekly HTML
adoption report (partitioned by ISO week in the organisation's time zone), and the published
Parquet snapshots of the marts for notebooks.

The report's dependencies are generated: every mart the registry declares as read by the report
(``transforms.marts``) and every table of ``quality.coverage.COVERAGE_TABLES``. ``write_report``
also serves ``uptake report`` on a read-only connection.
"""


import datetime as dt
import logging
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    WeeklyPartitionsDefinition,
    asset,
    multi_asset,
)

from pipelines.assets.checks import RUN_SUMMARY
from pipelines.assets.identity import IDENTITY_MAP
from pipelines.assets.ingest import CONFIG_KEY
from pipelines.assets.marts import PERSON_WEEK, table_asset_key
from pipelines.publish import publish_marts
from pipelines.resources import DropZoneResource, WarehouseResource
from quality.coverage import COVERAGE_TABLES
from transforms.marts import load_registry
from transforms.report import ReportInputs, build_report, render_html, report_tables
from transforms.report.weekly import iso_week_label
from transforms.warehouse import read_config, read_table, relation_exists, replace_table

log = logging.getLogger(__name__)

GROUP = "report"
WEEKLY_REPORT = AssetKey(["report", "weekly_adoption_report"])
PUBLISHED = AssetKey(["report", "published_marts"])
COVERAGE_KEYS: tuple[AssetKey, ...] = tuple(table_asset_key(t) for t in COVERAGE_TABLES)
#: The hour (organisation's time) at which a week's report is due on the Monday after it.
REPORT_HOUR = 6


class NoCompleteWeekError(ValueError):
    """No week of data has ended on or before the week asked for."""


def weekly_partitions(time_zone: str, first_week: dt.date) -> WeeklyPartitionsDefinition:
    """ISO weeks (Monday keys, ``YYYY-MM-DD``) in the organisation's time zone from ``first_week``;
    a week's partition closes on the next Monday at ``REPORT_HOUR``."""
    return WeeklyPartitionsDefinition(start_date=first_week.isoformat(), timezone=time_zone, day_offset=1,
                                      hour_offset=REPORT_HOUR)


def latest_complete_week(con: duckdb.DuckDBPyConnection, *, up_to: dt.date | None = None,
                         time_zone: str = "UTC", now: dt.datetime | None = None) -> dt.date:
    """The latest week of ``marts.adoption_curve`` that has ended (its Sunday is past in ``time_zone``),
    has platform data and, if given, starts on or before ``up_to``. :class:`NoCompleteWeekError` if
    there is none.

    "Has platform data": on or before the last week in which a platform source delivered events or
    counters (``quality.weeks_covered``). The weeks after it are eligible weeks with nothing measured
    yet (an HR extract taken after the last export): a report of one would say "0% active".
    """
    today = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(time_zone)).date()
    data_until = None
    if relation_exists(con, "quality.weeks_covered"):
        data_until = con.execute("SELECT max(last_week) FROM quality.weeks_covered "
                                 "WHERE kind IN ('events', 'activity_counts')").fetchone()[0]
    week = con.execute(
        "SELECT max(week_start) FROM marts.adoption_curve WHERE week_start + 7 <= $today "
        "AND ($up_to IS NULL OR week_start <= $up_to) AND ($data_until IS NULL OR week_start <= $data_until)",
        {"today": today, "up_to": up_to, "data_until": data_until},
    ).fetchone()[0]
    if week is None:
        limit = f" on or before {iso_week_label(up_to)}" if up_to else ""
        raise NoCompleteWeekError(f"marts.adoption_curve has no week that has ended{limit} (today is {today} in "
                                  f"{time_zone}); the report needs one complete week of data")
    return week


def report_tables_in(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """Every table the report shows that exists in the warehouse (a data-quality table only when it
    has rows: an empty one says nothing the section's own note does not). Works read-only."""
    tables = {}
    for name in report_tables():
        if relation_exists(con, name):
            frame = read_table(con, name)
            if frame.height or not name.startswith("quality."):
                tables[name] = frame
    return tables


def write_report(con: duckdb.DuckDBPyConnection, out: Path, week: dt.date | None = None, *,
                 notices: tuple[str, ...] = ()) -> tuple[Path, dict[str, object]]:
    """Render the report of ``week`` (default: the latest complete week with data) from the warehouse
    into ``out``, ``notices`` in a banner at the top.

    Works on a read-only connection (``uptake report``), and on the published snapshots
    (:func:`pipelines.publish.open_published`). The file is written next to ``out`` and
    renamed into place. Returns the path and the report's figures for metadata: the week, the
    headline numbers (shares in %, the frontline gap in points), the charts drawn, the sections
    still waiting for a mart and any table that could not be shown.
    """
    config = read_config(con)
    week = week or latest_complete_week(con, time_zone=config.settings.time_zone)
    inputs = ReportInputs(
        organisation=config.settings.organisation,
        week_start=week,
        tables=report_tables_in(con),
        min_group_size=config.settings.min_group_size,
        kpi_registry=tuple(config.kpi_registry.kpis),
        generated_at=dt.datetime.now(dt.UTC),
        notices=notices,
    )
    report = build_report(inputs, match_threshold=config.settings.identity_match_threshold)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    os.replace(tmp, out)
    summary: dict[str, object] = {
        "week": iso_week_label(week),
        "charts": len(report.charts),
        "missing": report.missing_tables,
        "errors": report.errors,
    }
    if report.headline is not None:
        summary["headline"] = report.headline.as_metadata()
    log.info("report %s written to %s (%d charts)", summary["week"], out, len(report.charts))
    return out, summary


def _headline_metadata(summary: dict[str, object]) -> dict[str, MetadataValue]:
    labels = {
        "active_share": "active share of the workforce (%)",
        "contributors": "contributors",
        "ever_active_share": "ever active (%)",
        "frontline_gap": "frontline gap (points)",
    }
    head = summary.get("headline") or {}
    out: dict[str, MetadataValue] = {}
    lines = ["| figure | this week | change on last week |", "|---|---|---|"]
    for key, label in labels.items():
        value, change = head.get(key), head.get(f"{key}_change")
        if value is not None:
            out[label] = MetadataValue.float(float(value))
        lines.append(f"| {label} | {'n/a' if value is None else value} | "
                     f"{'n/a' if change is None else f'{change:+}'} |")
    if head.get("eligible") is not None:
        out["eligible employees"] = MetadataValue.int(int(head["eligible"]))
    out["headline"] = MetadataValue.md("\n".join(lines))
    return out


@multi_asset(
    specs=[AssetSpec(key, group_name=GROUP, deps=[CONFIG_KEY, RUN_SUMMARY, IDENTITY_MAP, PERSON_WEEK],
                     description=f"{'.'.join(key.path)}: {(fn.__doc__ or '').strip().splitlines()[0]}",
                     kinds={"duckdb"})
           for key, fn in zip(COVERAGE_KEYS, COVERAGE_TABLES.values(), strict=True)],
    name="data_quality_coverage",
)
def data_quality_coverage(warehouse: WarehouseResource):  # noqa: ANN201 - yields results
    """The report's data-quality tables, one function of ``quality.coverage`` each."""
    with warehouse.get_connection() as con:
        for (table, compute), key in zip(COVERAGE_TABLES.items(), COVERAGE_KEYS, strict=True):
            rows = replace_table(con, table, compute(con))
            yield MaterializeResult(asset_key=key, metadata={"rows": rows})


def report_deps() -> list[AssetKey]:
    """What the report reads: the marts declared as read by the report, and the coverage tables."""
    return [table_asset_key(t) for t in report_tables()]


def build_weekly_report(partitions: WeeklyPartitionsDefinition) -> AssetsDefinition:
    """The weekly report asset: one HTML file per ISO week (partition), in the reports folder."""

    @asset(key=WEEKLY_REPORT, group_name=GROUP, deps=report_deps(), partitions_def=partitions,
           description="The weekly adoption report: one offline HTML file per ISO week (the partition) in the "
           "reports folder. A week beyond the data shows the latest complete week of data.",
           kinds={"html", "plotly"})
    def weekly_adoption_report(context: AssetExecutionContext, warehouse: WarehouseResource,
                               drop_zone: DropZoneResource) -> MaterializeResult:
        requested = dt.date.fromisoformat(context.partition_key)
        with warehouse.get_connection() as con:
            tz = read_config(con).settings.time_zone
            week = latest_complete_week(con, up_to=requested, time_zone=tz)
            path = Path(drop_zone.reports) / f"adoption_report_{iso_week_label(week)}.html"
            path, summary = write_report(con, path, week)
        if week != requested:
            context.log.info("partition %s: the data's latest complete week is %s; the report shows it",
                             iso_week_label(requested), summary["week"])
        if summary["errors"]:
            context.log.warning("report: tables that could not be shown: %s", "; ".join(summary["errors"]))
        return MaterializeResult(metadata={
            "path": MetadataValue.path(str(path.resolve())),
            "week": MetadataValue.text(str(summary["week"])),
            **_headline_metadata(summary),
            "charts": MetadataValue.int(int(summary["charts"])),
            "sections waiting for a mart": MetadataValue.int(len(summary["missing"])),
        })

    return weekly_adoption_report


@asset(key=PUBLISHED, group_name=GROUP,
       deps=[*(table_asset_key(t) for spec in load_registry().values() for t in spec.tables), PERSON_WEEK,
             *COVERAGE_KEYS, RUN_SUMMARY],
       description="Parquet snapshots of every marts.* and quality.* table (row-level rejects excepted) and of the "
       "published configuration, in the published folder: what notebooks read, never holding the warehouse.",
       kinds={"parquet"})
def published_marts(warehouse: WarehouseResource, drop_zone: DropZoneResource) -> MaterializeResult:
    folder = Path(drop_zone.published)
    with warehouse.get_connection() as con:
        written = publish_marts(con, folder)
    return MaterializeResult(metadata={"path": MetadataValue.path(str(folder.resolve())),
                                       "tables": MetadataValue.int(len(written))})


def report_assets(partitions: WeeklyPartitionsDefinition) -> list[AssetsDefinition]:
    return [data_quality_coverage, build_weekly_report(partitions), published_marts]
