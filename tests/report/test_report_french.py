"""The report in French: the same reports rendered in English and in French, and no English sentence
left in the French one.

Three reports are compared, each in both languages: the small simulated organisation's (real
marts, written by ``write_report`` from its warehouse, as ``uptake report --lang fr`` does), the
hand-made fixtures' (every section with every mart, communities and data-quality tables included)
and a first run's (the notes that ask for drop-zone files). For each, every visible text node of
the French page and every text of its charts (titles, axes, legends, annotations, hover templates,
bar labels) is compared with the English page's: a French text identical to an English one with
three words or more, or any French text holding English function words, is an English sentence
left behind. The drop zone's own words (the organisation's name, the KPI registry's descriptions)
are the organisation's and stay as they are.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from report import report_fixtures as fx
from report import small_org
from transforms.report import ReportInputs, build_report, render_html
from transforms.report.i18n import use_language

pytestmark = pytest.mark.xdist_group("small_org")

NBSP, NNBSP = "\u00a0", "\u202f"

#: English words that never appear in good French (articles, auxiliaries, prepositions); two of them
#: in one French text mean an English phrase was left in it.
_ENGLISH = {"the", "of", "and", "are", "were", "is", "with", "this", "than", "from", "have", "been", "which", "by",
            "week", "weeks", "not", "no", "yet", "only", "each", "who", "what", "how", "when", "its", "their",
            "in", "to", "at", "be", "has", "was", "after", "before"}


class _Text(HTMLParser):
    """Visible text nodes of a page (script and style skipped), whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        text = re.sub(r"[ \t\r\n\f\v]+", " ", data).strip(" ")  # ASCII whitespace only: no-break spaces are kept
        if text and not self._skip:
            self.nodes.append(text)


def visible_texts(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    return parser.nodes


def chart_texts(report) -> list[str]:
    """Every text a reader can see on the report's charts."""
    out: list[str] = []
    for chart in report.charts:
        layout = chart.figure.layout
        out += [layout.title.text, layout.xaxis.title.text, layout.yaxis.title.text]
        out += [a.text for a in layout.annotations or ()]
        out += [s.label.text for s in layout.shapes or () if getattr(s, "label", None) and s.label.text]
        for trace in chart.figure.data:
            out += [getattr(trace, "name", None), getattr(trace, "hovertemplate", None)]
            text = getattr(trace, "text", None)
            out += list(text) if isinstance(text, tuple | list) else [text]
            for axis in ("x", "y"):
                values = getattr(trace, axis, None)
                if values is not None and len(values) and all(isinstance(v, str) for v in values):
                    out += list(values)
    return [t for t in out if isinstance(t, str) and t.strip()]


def _words(text: str, keep: tuple[str, ...]) -> list[str]:
    for data in keep:
        text = text.replace(data, " ")
    text = re.sub(r"%\{[^}]*\}|<[^>]+>|\S*[_./]\S*|\d\S*", " ", text)  # Plotly placeholders, tags, identifiers, numbers
    return re.findall(r"[A-Za-zÀ-ÿ'’]{2,}", text)


def english_left(french: list[str], english: list[str], keep: tuple[str, ...] = ()) -> list[str]:
    """French texts that are English sentences: identical to an English text and three words or more
    long, or holding two English function words."""
    same = set(english)
    left = []
    for text in dict.fromkeys(french):
        words = _words(text, keep)
        function_words = [w for w in words if w.lower() in _ENGLISH]
        if (text in same and len(words) >= 3) or len(function_words) >= 2:
            left.append(text)
    return left


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def org() -> small_org.SmallOrg:
    return small_org.shared()


@pytest.fixture(scope="module")
def small_org_pages(org, tmp_path_factory) -> dict[str, str]:
    """The small organisation's report written from its warehouse by write_report, in both languages."""
    from pipelines.report_file import write_report

    out = tmp_path_factory.mktemp("french")
    pages = {}
    with duckdb.connect(str(org.warehouse), read_only=True) as con:
        for lang in ("en", "fr"):
            path, summary = write_report(con, out / f"{lang}.html", language=lang)
            assert summary["language"] == lang
            pages[lang] = path.read_text(encoding="utf-8")
    return pages


def _fixture_inputs(tables=None, organisation="Acme") -> ReportInputs:
    return ReportInputs(organisation=organisation, week_start=fx.REPORT_WEEK,
                        tables=fx.all_tables() if tables is None else tables, min_group_size=5,
                        kpi_registry=fx.KPI_REGISTRY, generated_at=dt.datetime(2026, 4, 13, 6, 0, tzinfo=dt.UTC))


def _first_run_inputs() -> ReportInputs:
    curve = fx.adoption_curve().filter(~pl.col("population_type").is_in(["pilot_wave"]))
    tables = {"marts.adoption_curve": curve, "marts.community_outputs": fx.community_outputs().clear(),
              "marts.community_flags": fx.community_flags().clear(), "marts.outcome_kpis": fx.outcome_kpis().clear(),
              "marts.kpi_activity_link": fx.kpi_activity_link().clear(), "quality.coverage": fx.coverage()}
    return ReportInputs(organisation="First Run", week_start=fx.REPORT_WEEK, tables=tables, min_group_size=5)


@pytest.fixture(scope="module", params=["fixtures", "first_run"])
def built(request) -> dict[str, object]:
    inputs = _fixture_inputs() if request.param == "fixtures" else _first_run_inputs()
    return {lang: build_report(inputs, language=lang) for lang in ("en", "fr")}


def _keep(*registries) -> tuple[str, ...]:
    """The drop zone's own words: KPI descriptions (the organisation writes them in its language), and the
    connectors' reasons for quarantining rows, quoted as each connector writes them (technical diagnostics)."""
    reasons = tuple(fx.rejects_summary()["reason"].to_list())
    return (*(k.description for registry in registries for k in registry), *reasons)


# --------------------------------------------------------------------------------------------- tests


def test_no_english_sentence_is_left_on_the_small_organisations_french_page(small_org_pages):
    fr, en = visible_texts(small_org_pages["fr"]), visible_texts(small_org_pages["en"])
    assert len(fr) > 100 and fr != en
    left = english_left(fr, en, keep=("Small Org", *_keep((small_org.KPI,))))
    assert not left, "English left on the French page:\n" + "\n".join(left)


@pytest.mark.parametrize("part", ["page", "charts"])
def test_no_english_sentence_is_left_in_the_french_report(built, part):
    en, fr = built["en"], built["fr"]
    if part == "page":
        french, english = visible_texts(render_html(fr)), visible_texts(render_html(en))
    else:
        french, english = chart_texts(fr), chart_texts(en)
        assert len(french) == len(english) > 10
    left = english_left(french, english, keep=("Acme", "First Run", *_keep(fx.KPI_REGISTRY)))
    assert not left, f"English left in the French {part}:\n" + "\n".join(left)


def test_the_check_finds_an_english_sentence_left_behind(small_org_pages):
    """The detector itself: an English reading dropped into the French page is caught."""
    en = visible_texts(small_org_pages["en"])
    sentence = next(t for t in en if t.startswith("Team members were"))
    assert english_left([*visible_texts(small_org_pages["fr"]), sentence], en) == [sentence]
    assert english_left(["Les collaborateurs de terrain ont 20 points de retard sur les collaborateurs de bureau"],
                        en) == []


def test_the_french_page_writes_numbers_and_dates_the_french_way(small_org_pages, org):
    fr, en = small_org_pages["fr"], small_org_pages["en"]
    assert '<html lang="fr">' in fr and '<html lang="en">' in en
    week = org.tables["marts.person_week"]["week_start"].max()
    months = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre")
    start = f"{week.day} {months[week.month - 1]} {week.year}"
    assert f"Semaine du {start} au" in fr
    assert f"Week of {week.day} {week:%B %Y} to" in en
    texts = " ".join(visible_texts(fr))
    assert re.search(rf"\d+,\d{NBSP}%", texts)                 # 42,3 %
    assert not re.search(r"\d\.\d+%", texts)                   # never 42.3%
    head = re.search(r"<div class='kpi' id='headline-active_share'><div class='value'>([^<]+)<", fr)[1]
    assert re.fullmatch(rf"\d+,\d{NBSP}%", head), head
    assert f"{NBSP}:" in texts and " :" not in texts           # French spacing before a colon
    assert 'Plotly.register({"moduleType": "locale", "name": "fr"' in fr and '"locale": "fr"' in fr
    assert '"separators":",' in fr                              # decimal comma on the charts' axes
    assert 'Plotly.register({"moduleType": "locale"' not in en


def test_the_report_formats_say_numbers_and_dates_in_french():
    from transforms.report import format as fmt

    with use_language("fr"):
        assert fmt.count(1234) == f"1{NNBSP}234" and fmt.pct(0.125, 1) == f"12,5{NBSP}%"
        assert fmt.long_date(dt.date(2026, 12, 7)) == "7 décembre 2026"
        assert fmt.points(1.5, 1) == "1,5 point" and fmt.points(2) == "2 points"   # French singular below 2
        assert fmt.signed_pct_points(0.012) == "+1,2 pts" and fmt.na() == "n.d."
        assert fmt.week_label(dt.date(2026, 4, 6)) == "semaine 15"
    assert fmt.points(1.5, 1) == "1.5 points" and fmt.count(1234) == "1,234"


def test_settings_language_writes_the_report_in_french(org, tmp_path):
    """settings.yaml ``language: fr`` (stored with the configuration): write_report, and so the report
    asset of ``uptake run``, writes French without being told."""
    from pipelines.report_file import write_report

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(org.warehouse, warehouse)
    french = small_org.settings().model_copy(update={"language": "fr"})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE raw.settings SET body = ? WHERE name = 'settings'", [french.model_dump_json()])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        path, summary = write_report(con, tmp_path / "report.html")
        english, _ = write_report(con, tmp_path / "report_en.html", language="en")
    assert summary["language"] == "fr" and '<html lang="fr">' in path.read_text(encoding="utf-8")
    assert '<html lang="en">' in english.read_text(encoding="utf-8")


def test_settings_accept_a_region_and_refuse_another_language():
    from pydantic import ValidationError

    from transforms.contracts.config import Settings

    base = {"organisation": "X", "platform_launch": "2026-01-05"}
    assert Settings.model_validate(base).language == "en"
    assert Settings.model_validate({**base, "language": "fr_FR"}).language == "fr"
    assert Settings.model_validate({**base, "language": "FR"}).language == "fr"
    with pytest.raises(ValidationError, match="language"):
        Settings.model_validate({**base, "language": "de"})


def test_uptake_report_lang_fr_on_a_warehouse(org, tmp_path):
    from pipelines.cli import app

    runner = CliRunner()
    out = tmp_path / "rapport.html"
    result = runner.invoke(app, ["report", "--warehouse", str(org.warehouse), "--out", str(out), "--lang", "fr"])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and f"Small Org{NBSP}: rapport d&#x27;adoption" in page
    bad = runner.invoke(app, ["report", "--warehouse", str(org.warehouse), "--out", str(tmp_path / "x.html"),
                              "--lang", "de"])
    assert bad.exit_code == 1 and "--lang 'de'" in bad.output and not (tmp_path / "x.html").exists()


def test_the_english_report_is_the_default():
    inputs = _fixture_inputs()
    assert render_html(build_report(inputs)) == render_html(build_report(inputs, language="en"))
    with use_language("fr"):  # a caller's language block is honoured when none is given
        assert build_report(inputs).language == "fr"
    assert build_report(inputs).language == "en"


def test_the_language_key_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "drop_zone.md").read_text(encoding="utf-8")
    assert "`language`" in doc and "--lang" in doc
