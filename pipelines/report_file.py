"""Write the weekly adoption report of a week from a warehouse into an HTML file: what the report
asset and ``uptake report`` share. No Dagster here, so that ``uptake report`` starts quickly."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from transforms.report import ReportInputs, build_report, render_html, report_tables
from transforms.report.weekly import iso_week_label
from transforms.warehouse import read_config, read_table, relation_exists

log = logging.getLogger(__name__)

__all__ = ["NoCompleteWeekError", "latest_complete_week", "report_tables_in", "write_report"]


class NoCompleteWeekError(ValueError):
    """No week of data has ended on or before the week asked for."""


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
    if not relation_exists(con, "marts.adoption_curve"):
        raise NoCompleteWeekError("marts.adoption_curve is not in the warehouse: run `uptake run` through the marts "
                                  "before making a report")
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
                 notices: tuple[str, ...] = (), language: str | None = None,
                 last_run_of: Path | None = None) -> tuple[Path, dict[str, object]]:
    """Render the report of ``week`` (default: the latest complete week with data; a week beyond the
    data or not ended yet: the latest complete week with data before it) from the warehouse
    into ``out``, written in ``language`` (default: the settings' ``language``, English unless
    settings.yaml says fr), ``notices`` in a banner at the top. With ``last_run_of`` (the warehouse
    file ``con`` reads), a last run that failed or did not finish is named in the banner too, in the
    report's language (:func:`pipelines.run_history.stale_notice`).

    Works on a read-only connection (``uptake report``), and on the published snapshots
    (:func:`pipelines.publish.open_published`). The file is written next to ``out`` and
    renamed into place. Returns the path and the report's figures for metadata: the week, the
    language, the headline numbers (shares in %, the frontline gap in points), the charts drawn,
    the sections still waiting for a mart and any table that could not be shown.
    """
    config = read_config(con)
    language = language or config.settings.language
    # an explicit week beyond the data (an HR-only week, or one not ended) shows the data's latest
    # complete week before it, as the run's report does: ``summary["requested_week"]`` keeps the ask
    requested = week
    week = latest_complete_week(con, up_to=week, time_zone=config.settings.time_zone)
    if last_run_of is not None:
        from pipelines.run_history import last_run, stale_notice

        notice = stale_notice(last_run(con), last_run_of, language=language)
        notices = (*notices, notice) if notice else notices
    inputs = ReportInputs(
        organisation=config.settings.organisation,
        week_start=week,
        tables=report_tables_in(con),
        min_group_size=config.settings.min_group_size,
        kpi_registry=tuple(config.kpi_registry.kpis),
        generated_at=dt.datetime.now(dt.UTC),
        notices=notices,
    )
    report = build_report(inputs, match_threshold=config.settings.identity_match_threshold,
                          language=language)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    os.replace(tmp, out)
    summary: dict[str, object] = {
        "week": iso_week_label(week),
        "requested_week": iso_week_label(requested) if requested else None,
        "language": report.language,
        "charts": len(report.charts),
        "missing": report.missing_tables,
        "errors": report.errors,
    }
    if report.headline is not None:
        summary["headline"] = report.headline.as_metadata()
    log.info("report %s written to %s (%d charts)", summary["week"], out, len(report.charts))
    return out, summary
