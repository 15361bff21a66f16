"""The weekly adoption report: tidy tables in, one self-contained HTML page out (no file I/O here)."""

from transforms.report.weekly import ReportInputs, render_weekly_report

__all__ = ["ReportInputs", "render_weekly_report"]
