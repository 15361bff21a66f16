"""The weekly adoption report: tidy tables in, one self-contained HTML page out (no file I/O here).

- :mod:`transforms.report.charts`: one plot function per analysis (tidy table -> Plotly figure),
  shared with the notebooks; every figure declares its one metric kind.
- :mod:`transforms.report.readings`: the one-line plain-language reading of each chart.
- :mod:`transforms.report.headline`: the week's headline figures and their week-over-week change.
- :mod:`transforms.report.sections`: the report's sections, built from whichever tables exist.
- :mod:`transforms.report.weekly`: the HTML page (plotly.js embedded once, print CSS for A4).
- :mod:`transforms.report.i18n`: the report's languages (English, French): the message catalogue
  (``_()``), the active language, numbers and dates through Babel; :mod:`transforms.report.vocabulary`
  and :mod:`transforms.report.mart_text` say the pipeline's vocabulary and the marts' notes in it.
"""

from transforms.report.inputs import QUALITY_TABLES, ReportInputError, ReportInputs, report_tables
from transforms.report.weekly import Report, build_report, iso_week_label, render_html, render_weekly_report

__all__ = [
    "QUALITY_TABLES",
    "Report",
    "ReportInputError",
    "ReportInputs",
    "report_tables",
    "build_report",
    "iso_week_label",
    "render_html",
    "render_weekly_report",
]
