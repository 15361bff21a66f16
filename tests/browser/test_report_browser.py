"""The weekly report in headless Chromium (Debian's /usr/bin/chromium driven by PyPI playwright):
it loads offline with no console error, every chart draws its SVG, the headline numbers are there;
a screenshot is kept in test-artifacts/ (git-ignored).

Needs Debian's chromium (``apt-get install -y chromium``; ``./dev.sh test`` installs it when run as
root): ``playwright install`` cannot download browsers here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from report import report_fixtures as fx
from transforms.report import ReportInputs, build_report, render_html

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) "
                    "or run the tests with ./dev.sh test, which does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def open_report(browser, path: Path, screenshot: Path | None = None) -> dict:
    """Load the report from disk with the network cut; return what the page shows."""
    context = browser.new_context(viewport={"width": 1000, "height": 1400}, offline=True)
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.chart')].every(f => f.querySelector('svg.main-svg'))",
        timeout=30_000)
    shown = page.evaluate("""() => ({
        charts: document.querySelectorAll('figure.chart').length,
        drawn: [...document.querySelectorAll('figure.chart')].filter(
            f => f.querySelector('.js-plotly-plot svg.main-svg')).length,
        traces: [...document.querySelectorAll('figure.chart .js-plotly-plot')].map(d => d.data.length),
        headline: Object.fromEntries([...document.querySelectorAll('.headline .kpi')].map(
            k => [k.id, k.querySelector('.value').textContent])),
        title: document.title,
    })""")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    context.close()
    return {**shown, "errors": errors, "requests": requests}


def test_report_renders_in_chromium(browser, tmp_path: Path):
    inputs = ReportInputs(organisation="Acme", week_start=fx.REPORT_WEEK, tables=fx.all_tables(), min_group_size=5,
                          kpi_registry=fx.KPI_REGISTRY, generated_at=dt.datetime(2026, 4, 13, 6, tzinfo=dt.UTC))
    report = build_report(inputs)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    shown = open_report(browser, path, ARTIFACTS / "report.png")
    assert shown["errors"] == []
    assert shown["requests"] == []  # nothing fetched: the page works offline
    assert shown["charts"] == len(report.charts) and shown["drawn"] == shown["charts"]
    assert all(n >= 1 for n in shown["traces"])
    assert shown["headline"] == {"headline-active_share": "42.0%", "headline-contributors": "30",
                                 "headline-ever_active_share": "61.0%", "headline-frontline_gap": "20.0 pts"}
    assert (ARTIFACTS / "report.png").stat().st_size > 100_000


@pytest.mark.slow
@pytest.mark.xdist_group("e2e")
def test_the_demo_report_renders_in_chromium(browser, simulated_run):
    reports = sorted(simulated_run.reports.glob("adoption_report_*.html"))
    assert reports, f"no report in {simulated_run.reports}"
    with simulated_run.connect() as con:
        week, active = con.execute(
            "SELECT strftime(week_start, '%G-W%V'), active_rate FROM marts.adoption_curve "
            "WHERE population_type = 'organisation' ORDER BY week_start DESC LIMIT 1").fetchone()
    path = simulated_run.reports / f"adoption_report_{week}.html"
    assert path in reports
    shown = open_report(browser, path, ARTIFACTS / "report_demo.png")
    assert shown["errors"] == [] and shown["requests"] == []
    assert shown["charts"] >= 5 and shown["drawn"] == shown["charts"]
    assert shown["headline"]["headline-active_share"] == f"{100 * active:.1f}%"


def test_the_french_report_renders_in_chromium_with_french_axes(browser, tmp_path: Path):
    """The French page: plotly.js takes the French locale (no console error), date axes show French month
    names, and the headline reads the French way."""
    inputs = ReportInputs(organisation="Acme", week_start=fx.REPORT_WEEK, tables=fx.all_tables(), min_group_size=5,
                          kpi_registry=fx.KPI_REGISTRY, generated_at=dt.datetime(2026, 4, 13, 6, tzinfo=dt.UTC))
    report = build_report(inputs, language="fr")
    path = tmp_path / "rapport.html"
    path.write_text(render_html(report), encoding="utf-8")
    shown = open_report(browser, path, ARTIFACTS / "report_fr.png")
    assert shown["errors"] == [] and shown["requests"] == []
    assert shown["charts"] == len(report.charts) and shown["drawn"] == shown["charts"]
    assert shown["headline"]["headline-active_share"] == "42,0\u00a0%"
    assert shown["headline"]["headline-frontline_gap"] == "20,0 pts"
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_function("() => document.querySelector('#chart-0 .xtick text')", timeout=30_000)
    ticks = page.evaluate("() => [...document.querySelectorAll('#chart-0 .xtick text')].map(t => t.textContent)")
    context.close()
    months = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
    assert ticks and any(m in " ".join(ticks) for m in months), ticks
    assert not any(m in " ".join(ticks) for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun")), ticks
