"""Render the weekly adoption report as one HTML page that opens offline (plotly.js embedded)."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, as published (already suppressed) marts."""

    organisation: str
    week_start: dt.date
    adoption_curve: pl.DataFrame
    min_group_size: int = 5
    extra_sections: list[tuple[str, str]] = field(default_factory=list)


def iso_week_label(week_start: dt.date) -> str:
    year, week, _ = week_start.isocalendar()
    return f"{year}-W{week:02d}"


def _headline(curve: pl.DataFrame, week: dt.date) -> dict[str, float | None]:
    org = curve.filter(pl.col("population_type") == "organisation").sort("week_start")
    this = org.filter(pl.col("week_start") == week)
    prev = org.filter(pl.col("week_start") < week).tail(1)

    def val(frame: pl.DataFrame, col: str) -> float | None:
        return float(frame[col][0]) if frame.height and frame[col][0] is not None else None

    return {
        "eligible": val(this, "eligible"),
        "active_rate": val(this, "active_rate"),
        "active_rate_prev": val(prev, "active_rate"),
        "contributor_rate": val(this, "contributor_rate"),
        "ever_active_rate": val(this, "ever_active_rate"),
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _curve_figure(curve: pl.DataFrame, population_type: str, title: str) -> go.Figure:
    fig = go.Figure()
    sub = curve.filter(pl.col("population_type") == population_type).sort("week_start")
    for pop in sub["population"].unique(maintain_order=True).to_list():
        part = sub.filter(pl.col("population") == pop)
        fig.add_trace(go.Scatter(x=part["week_start"].to_list(), y=(part["active_rate"] * 100).to_list(),
                                 mode="lines", name=str(pop)))
    fig.update_layout(title=title, yaxis_title="active, % of eligible headcount", xaxis_title="week",
                      template="plotly_white", height=380, margin=dict(l=60, r=20, t=50, b=40))
    return fig


def render_weekly_report(inputs: ReportInputs) -> str:
    """The report's HTML. Activity metrics only in the adoption section; plotly.js is embedded once."""
    week = inputs.week_start
    h = _headline(inputs.adoption_curve, week)
    change = (
        "n/a" if h["active_rate"] is None or h["active_rate_prev"] is None
        else f"{100 * (h['active_rate'] - h['active_rate_prev']):+.1f} points vs last week"
    )
    figs = [
        ("Adoption: the whole organisation", _curve_figure(inputs.adoption_curve, "organisation", "Weekly active share"),
         "Share of eligible employees (HR headcount) with any activity each week."),
        ("Adoption by worker type", _curve_figure(inputs.adoption_curve, "worker_type", "Weekly active share by worker type"),
         "Frontline and office staff side by side: the gap is the digital divide."),
    ]
    parts = []
    for i, (title, fig, reading) in enumerate(figs):
        parts.append(
            f"<section><h2>{html.escape(title)}</h2><p class='reading'>{html.escape(reading)}</p>"
            + pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), div_id=f"chart-{i}")
            + "</section>"
        )
    for title, body in inputs.extra_sections:
        parts.append(f"<section><h2>{html.escape(title)}</h2>{body}</section>")
    label = iso_week_label(week)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(inputs.organisation)} adoption report {label}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
.headline {{ display: flex; gap: 2em; }}
.kpi {{ border: 1px solid #ccc; border-radius: 6px; padding: 0.8em 1.2em; }}
.kpi .value {{ font-size: 2em; font-weight: 600; }}
.reading {{ color: #444; font-style: italic; }}
section {{ page-break-inside: avoid; margin-top: 2em; }}
@media print {{ body {{ max-width: none; }} }}
</style></head><body>
<h1>{html.escape(inputs.organisation)}: adoption report, week {label}</h1>
<p>Week starting {week.isoformat()}. Denominators are eligible employees from the HR directory.
Groups smaller than {inputs.min_group_size} people are not shown.</p>
<div class="headline">
 <div class="kpi" id="headline-active"><div class="value">{_pct(h['active_rate'])}</div>of the workforce active this week ({change})</div>
 <div class="kpi" id="headline-contributors"><div class="value">{_pct(h['contributor_rate'])}</div>contributed (posted, replied, shared)</div>
 <div class="kpi" id="headline-ever"><div class="value">{_pct(h['ever_active_rate'])}</div>have ever been active</div>
</div>
{''.join(parts)}
</body></html>
"""
