"""Report layer: the weekly HTML adoption report, written to the drop zone's reports folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dagster import AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.assets.marts import ADOPTION_CURVE
from pipelines.config_tables import read_config
from pipelines.resources import DropZoneResource, WarehouseResource
from pipelines.warehouse import read_table
from transforms.report import ReportInputs, render_weekly_report
from transforms.report.weekly import iso_week_label

GROUP = "report"
WEEKLY_REPORT = AssetKey(["report", "weekly_adoption_report"])


def latest_complete_week(con) -> dt.date:
    """The most recent week in marts.adoption_curve."""
    return con.execute("SELECT max(week_start) FROM marts.adoption_curve").fetchone()[0]


def write_report(con, out: Path, week: dt.date | None = None) -> tuple[Path, dict[str, float | None]]:
    """Render the report of ``week`` (default: latest) from the warehouse into ``out``."""
    config = read_config(con)
    week = week or latest_complete_week(con)
    inputs = ReportInputs(
        organisation=config.settings.organisation,
        week_start=week,
        adoption_curve=read_table(con, "marts.adoption_curve"),
        min_group_size=config.settings.min_group_size,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_weekly_report(inputs), encoding="utf-8")
    return out, {"week": iso_week_label(week)}


@asset(
    key=WEEKLY_REPORT,
    group_name=GROUP,
    deps=[ADOPTION_CURVE],
    description="The weekly adoption report (one offline HTML file per ISO week) in the reports folder.",
    kinds={"html", "plotly"},
)
def weekly_adoption_report(warehouse: WarehouseResource, drop_zone: DropZoneResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        week = latest_complete_week(con)
        path = Path(drop_zone.reports_dir) / f"adoption_report_{iso_week_label(week)}.html"
        path, headline = write_report(con, path, week)
    return MaterializeResult(metadata={"path": MetadataValue.path(str(path.resolve())), **headline})
