"""Report layer: the data-quality tables the report shows (``quality.coverage`` ...), the weekly HTML
adoption report (partitioned by ISO week in the organisation's time zone), and the published
Parquet snapshots of the marts for notebooks.

The report's dependencies are generated: every mart the registry declares as read by the report
(``transforms.marts``) and every table of ``quality.coverage.COVERAGE_TABLES``. ``write_report``
also serves ``uptake report`` on a read-only connection.
"""


import datetime as dt
import logging
from pathlib import Path

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
from pipelines.report_file import latest_complete_week, write_report
from pipelines.resources import DropZoneResource, WarehouseResource
from quality.coverage import COVERAGE_TABLES
from transforms.marts import load_registry
from transforms.report import report_tables
from transforms.report.weekly import iso_week_label
from transforms.warehouse import read_config, replace_table

log = logging.getLogger(__name__)

GROUP = "report"
WEEKLY_REPORT = AssetKey(["report", "weekly_adoption_report"])
PUBLISHED = AssetKey(["report", "published_marts"])
COVERAGE_KEYS: tuple[AssetKey, ...] = tuple(table_asset_key(t) for t in COVERAGE_TABLES)
#: The hour (organisation's time) at which a week's report is due on the Monday after it.
REPORT_HOUR = 6


def weekly_partitions(time_zone: str, first_week: dt.date) -> WeeklyPartitionsDefinition:
    """ISO weeks (Monday keys, ``YYYY-MM-DD``) in the organisation's time zone from ``first_week``;
    a week's partition closes on the next Monday at ``REPORT_HOUR``."""
    return WeeklyPartitionsDefinition(start_date=first_week.isoformat(), timezone=time_zone, day_offset=1,
                                      hour_offset=REPORT_HOUR)


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
