"""Report layer: the weekly HTML adoption report in the reports folder, and the published Parquet
snapshots of the marts for notebooks (``pipelines.publish``).

The report reads whichever of the marts it knows (``transforms.report.inputs.REPORT_TABLES``)
exist in the warehouse; a section whose mart is not built says so in one line. Data-quality
frames come from ``quality.coverage`` (read-only functions of the warehouse).
"""


import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
from dagster import AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.assets.marts import ADOPTION_CURVE
from pipelines.config_tables import read_config
from pipelines.publish import PUBLISHED_ENV, publish_marts
from pipelines.resources import DropZoneResource, WarehouseResource
from pipelines.warehouse import read_table
from transforms.report import REPORT_TABLES, ReportInputs, build_report, render_html
from transforms.report.weekly import iso_week_label

log = logging.getLogger(__name__)

GROUP = "report"
WEEKLY_REPORT = AssetKey(["report", "weekly_adoption_report"])

#: The marts the report shows; the report runs after them when they are assets of the definitions.
REPORT_MART_DEPS: tuple[AssetKey, ...] = tuple(
    AssetKey(name.split(".")) for name in (
        "marts.usage_segments", "marts.lifecycle", "marts.retention", "marts.inequality", "marts.non_users",
        "marts.digital_divide", "marts.manager_relay", "marts.team_uptake_by_manager", "marts.community_outputs",
        "marts.community_flags", "marts.outcome_kpis", "marts.kpi_activity_link", "marts.diffusion",
        "marts.diffusion_projection", "marts.pilot_representativeness", "marts.pilot_effects", "marts.pilot_power",
    )
)


def latest_complete_week(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The most recent week in marts.adoption_curve."""
    return con.execute("SELECT max(week_start) FROM marts.adoption_curve").fetchone()[0]


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = name.split(".")
    return bool(con.execute(
        "SELECT (SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t)"
        " + (SELECT count(*) FROM duckdb_views() WHERE schema_name = $s AND view_name = $t)",
        {"s": schema, "t": table},
    ).fetchone()[0])


def _quality_frames(con: duckdb.DuckDBPyConnection) -> dict[str, Callable[[], pl.DataFrame]]:
    """How each data-quality table of the report is obtained when the warehouse has no table of that name."""
    from quality import coverage

    return {
        "quality.coverage": lambda: coverage.source_row_flow(con),
        "quality.match_rates": lambda: coverage.identity_match(con),
        "quality.weeks_covered": lambda: coverage.weeks_covered(con),
        "quality.hr_completeness": lambda: coverage.hr_completeness(con),
        "quality.kpi_freshness": lambda: coverage.kpi_feed_freshness(con),
        "quality.rejects_summary": lambda: con.execute(
            "SELECT source, contract, reason, count(*)::BIGINT AS rows FROM quality.rejects GROUP BY ALL"
        ).pl() if _exists(con, "quality.rejects") else pl.DataFrame(),
    }


def report_tables(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """Every table of ``REPORT_TABLES`` that exists in the warehouse (or can be derived from it).

    Works on a read-only connection. A data-quality frame that cannot be computed is left out
    (and logged): its section then says it is not available.
    """
    tables = {name: read_table(con, name) for name in REPORT_TABLES if _exists(con, name)}
    try:
        derived = _quality_frames(con)
    except ImportError as exc:  # the quality package is optional for the report
        log.warning("report: data-quality frames unavailable: %s", exc)
        derived = {}
    for name, build in derived.items():
        if name in tables:
            continue
        try:
            frame = build()
        except Exception as exc:  # noqa: BLE001 - a broken quality helper must not stop the report
            log.warning("report: %s could not be computed: %s", name, exc)
            continue
        if frame.height:
            tables[name] = frame
    return tables


def write_report(con: duckdb.DuckDBPyConnection, out: Path, week: dt.date | None = None
                 ) -> tuple[Path, dict[str, object]]:
    """Render the report of ``week`` (default: the latest) from the warehouse into ``out``.

    Works on a read-only connection (``uptake report``). The file is written next to ``out`` and
    renamed into place. Returns the path and the report's figures for metadata: the week, the
    headline numbers (shares in %, the frontline gap in points), the charts drawn, the sections
    still waiting for a mart and any table that could not be shown.
    """
    config = read_config(con)
    week = week or latest_complete_week(con)
    inputs = ReportInputs(
        organisation=config.settings.organisation,
        week_start=week,
        tables=report_tables(con),
        min_group_size=config.settings.min_group_size,
        kpi_registry=tuple(config.kpi_registry.kpis),
        generated_at=dt.datetime.now(dt.UTC),
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


def published_dir_for(drop_zone: DropZoneResource) -> Path:
    """``$UPTAKE_PUBLISHED``, else ``published/`` beside the reports folder (``data/published``)."""
    env = os.environ.get(PUBLISHED_ENV)
    return Path(env) if env else Path(drop_zone.reports_dir).parent / "published"


def _headline_metadata(summary: dict[str, object]) -> dict[str, MetadataValue]:
    labels = {
        "active_share": ("active share of the workforce (%)", "change (points)"),
        "contributors": ("contributors", "change (people)"),
        "ever_active_share": ("ever active (%)", "change (points)"),
        "frontline_gap": ("frontline gap (points)", "change (points)"),
    }
    head = summary.get("headline") or {}
    out: dict[str, MetadataValue] = {}
    lines = ["| figure | this week | change on last week |", "|---|---|---|"]
    for key, (label, _) in labels.items():
        value, change = head.get(key), head.get(f"{key}_change")
        if value is not None:
            out[label] = MetadataValue.float(float(value))
        lines.append(f"| {label} | {'n/a' if value is None else value} | "
                     f"{'n/a' if change is None else f'{change:+}'} |")
    if head.get("eligible") is not None:
        out["eligible employees"] = MetadataValue.int(int(head["eligible"]))
    out["headline"] = MetadataValue.md("\n".join(lines))
    return out


@asset(
    key=WEEKLY_REPORT,
    group_name=GROUP,
    deps=[ADOPTION_CURVE, *REPORT_MART_DEPS],
    description="The weekly adoption report (one offline HTML file per ISO week) in the reports folder, "
    "and Parquet snapshots of every mart in the published folder for notebooks.",
    kinds={"html", "plotly", "parquet"},
)
def weekly_adoption_report(context, warehouse: WarehouseResource,  # noqa: ANN001 - Dagster context
                           drop_zone: DropZoneResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        week = latest_complete_week(con)
        path = Path(drop_zone.reports_dir) / f"adoption_report_{iso_week_label(week)}.html"
        path, summary = write_report(con, path, week)
        published = publish_marts(con, published_dir_for(drop_zone))
    if summary["errors"]:
        context.log.warning("report: tables that could not be shown: %s", "; ".join(summary["errors"]))
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(path.resolve())),
        "week": MetadataValue.text(str(summary["week"])),
        **_headline_metadata(summary),
        "charts": MetadataValue.int(int(summary["charts"])),
        "sections waiting for a mart": MetadataValue.int(len(summary["missing"])),
        "published": MetadataValue.path(str(published_dir_for(drop_zone).resolve())),
        "published tables": MetadataValue.int(len(published)),
    })
