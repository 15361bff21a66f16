"""Viva Insights person query connectors on the sample person query that ``vivainsights`` ships.

The fixture ``viva_insights/platforms/viva_insights/pq_data_first6.csv`` holds the header and every
row of the first six PersonIds of ``vivainsights`` 0.4.3's ``pq_data.csv``, verbatim. The usage
segment comparison reads four columns of the whole file (``viva_insights_expected/``) and
compares with the segments ``vivainsights.identify_usage_segments`` computed on it (stored, see
``tests/fixtures/connectors/viva_insights/SOURCES.md``).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.connectors import ConnectorError
from pipelines.connectors.viva_insights import VivaInsightsConnector, VivaInsightsHrConnector
from pipelines.warehouse import write_batches
from transforms.clean_events import build_clean_events
from transforms.warehouse import ensure_schemas
from transforms.contracts.config import Settings
from transforms.metrics.usage_segments import SegmentRules, usage_segments

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors"
ROOT = FIXTURES / "viva_insights"
SAMPLE = ROOT / "platforms" / "viva_insights" / "pq_data_first6.csv"
EXPECTED = FIXTURES / "viva_insights_expected"
#: vivainsights' labels -> uptake's.
LABELS = {"Power User": "Power user", "Habitual User": "Habitual user", "Novice User": "Novice user",
          "Low User": "Low user", "Non-user": "Non-user"}


def _tables(batches) -> dict[str, pl.DataFrame]:  # noqa: ANN001
    out: dict[str, list[pl.DataFrame]] = {}
    for b in batches:
        out.setdefault(b.table, []).append(b.frame)
    return {t: pl.concat(f) for t, f in out.items()}


def _rows() -> list[dict[str, str]]:
    with open(SAMPLE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_counts_match_an_independent_count() -> None:
    rows = _rows()
    t = _tables(VivaInsightsConnector().read_drop_zone(ROOT))
    counts = t["activity_counts"]
    # default mapping: Channel_message_posts -> post (Chats_sent is not in the sample)
    assert counts.height == len(rows) == 210
    expected = {(r["PersonId"], r["MetricDate"]): round(float(r["Channel_message_posts"])) for r in rows}
    got = {(a, str(d)): c for a, d, c in counts.select("account_id", "period_start", "count").iter_rows()}
    assert got == expected
    assert set(counts["action"]) == {"post"}
    assert (counts["period_end"] - counts["period_start"]).dt.total_days().unique().to_list() == [6]
    accounts = t["accounts"]
    assert sorted(accounts["account_id"]) == sorted({r["PersonId"] for r in rows})
    assert accounts["employee_number"].equals(accounts["account_id"])
    assert "rejects" not in t


def test_a_mapping_override_adds_columns_of_one_action() -> None:
    rows = _rows()
    connector = VivaInsightsConnector(metric_actions={"Emails_sent": "post", "Channel_message_posts": "post",
                                                      "Emails_read": "read"})
    counts = _tables(connector.read_drop_zone(ROOT))["activity_counts"]
    assert counts.height == 2 * len(rows)
    r0 = rows[0]
    first = counts.filter((pl.col("account_id") == r0["PersonId"]) & (pl.col("period_start") == dt.date(2024, 3, 31)))
    assert dict(first.select("action", "count").iter_rows()) == {
        "post": round(float(r0["Emails_sent"]) + float(r0["Channel_message_posts"])),
        "read": round(float(r0["Emails_read"])),
    }


def test_settings_yaml_replaces_the_mapping(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "platforms", tmp_path / "platforms")
    (tmp_path / "settings.yaml").write_text(
        "organisation: X\nplatform_launch: 2024-01-01\nviva_insights_metrics:\n  Emails_sent: post\n")
    counts = _tables(VivaInsightsConnector().read_drop_zone(tmp_path))["activity_counts"]
    assert counts["count"].sum() == sum(int(r["Emails_sent"]) for r in _rows())


def test_a_mapping_to_an_unseeable_action_is_refused() -> None:
    with pytest.raises(ConnectorError, match="unknown or unseeable actions"):
        VivaInsightsConnector(metric_actions={"Meetings": "join"})


def test_bad_rows_are_quarantined_and_the_rest_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "platforms" / "viva_insights"
    folder.mkdir(parents=True)
    (folder / "pq.csv").write_text(
        "PersonId,MetricDate,Chats_sent,Collaboration_hours\n"
        "p1,2024-03-31,12,10.5\n"
        ",2024-03-31,3,1\n"
        "p2,31.03.2024,3,1\n"
        "p3,4/7/2024,-2,1\n"
        "p4,2024-04-07,many,1\n"
        "p1,2024-03-31,5,1\n"
        "p5,2024-04-07,,2\n"
    )
    t = _tables(VivaInsightsConnector().read_drop_zone(tmp_path))
    assert t["activity_counts"].select("account_id", "period_start", "count").rows() == [
        ("p1", dt.date(2024, 3, 31), 12), ("p5", dt.date(2024, 4, 7), 0)]
    assert t["rejects"].select("locator", "reason").rows() == [
        ("pq.csv line 3", "PersonId: required, found empty"),
        ("pq.csv line 4", "MetricDate: expected a date YYYY-MM-DD or M/D/YYYY, found '31.03.2024'"),
        ("pq.csv line 5", "Chats_sent: expected a count >= 0, found '-2'"),
        ("pq.csv line 6", "Chats_sent: expected a count >= 0, found 'many'"),
        ("pq.csv line 7", "repeats a (PersonId, MetricDate) already read"),
    ]


def test_a_file_without_person_id_stops_with_the_file_named(tmp_path: Path) -> None:
    folder = tmp_path / "platforms" / "viva_insights"
    folder.mkdir(parents=True)
    (folder / "query.csv").write_text("Person,MetricDate\nx,2024-03-31\n")
    with pytest.raises(Exception, match=r"query.csv.*missing column\(s\) PersonId"):
        list(VivaInsightsConnector().read_drop_zone(tmp_path))


def test_hr_attributes_are_an_hr_source_only_without_a_directory(tmp_path: Path) -> None:
    rows = _rows()
    snaps = _tables(VivaInsightsHrConnector().read_drop_zone(ROOT))["hr_snapshots"]
    assert snaps.height == len(rows)
    r0 = rows[0]
    first = snaps.filter((pl.col("employee_id") == r0["PersonId"]) & (pl.col("snapshot_date") == dt.date(2024, 3, 31)))
    assert first.select("department", "job_family", "level").row(0) == (
        r0["Organization"], r0["FunctionType"], int(r0["Level"].removeprefix("Level")))
    shutil.copytree(ROOT / "platforms", tmp_path / "platforms")
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "hr_2024-03-31.csv").write_text("employee_id\n1\n")
    assert list(VivaInsightsHrConnector().read_drop_zone(tmp_path)) == []


def _person_weeks(tmp_path: Path, metric: str) -> pl.DataFrame:
    """The whole sample through the connector and the clean layer's week allocation."""
    folder = tmp_path / "platforms" / "viva_insights"
    folder.mkdir(parents=True)
    with gzip.open(EXPECTED / "pq_data_columns.csv.gz", "rb") as src, open(folder / "pq_data.csv", "wb") as dst:
        shutil.copyfileobj(src, dst)
    connector = VivaInsightsConnector(metric_actions={metric: "post"})
    con = duckdb.connect()
    ensure_schemas(con)
    write_batches(con, connector.name, connector.yields, connector.read_drop_zone(tmp_path))
    build_clean_events(con, [connector.name], Settings(organisation="x", platform_launch=dt.date(2024, 1, 1)))
    weekly = con.execute(
        "SELECT account_id AS person_key, week_start, sum(count) AS actions_total FROM clean.activity_counts "
        "GROUP BY ALL").pl()
    con.close()
    return weekly


@pytest.mark.parametrize("metric", ["Emails_sent", "Copilot_actions_taken_in_Outlook"])
def test_usage_segments_equal_those_of_vivainsights(tmp_path: Path, metric: str) -> None:
    weekly = _person_weeks(tmp_path, metric)
    expected = (
        pl.read_csv(EXPECTED / "usage_segments_12w.csv.gz", infer_schema=False)
        .filter(pl.col("metric") == metric)
        .select(pl.col("PersonId").alias("person_key"),
                # a Sunday-to-Saturday week lands in the ISO week starting the next day
                (pl.col("MetricDate").str.to_date() + pl.duration(days=1)).alias("week_start"),
                pl.col("UsageSegments_12w").replace_strict(LABELS).alias("expected"))
    )
    assert weekly.height == expected.height == 10_500
    # vivainsights' convention: habit needs 9 active weeks even in a window shorter than 12 weeks
    vi_rules = usage_segments(weekly, rules=SegmentRules(scale_short_windows=False))
    both = vi_rules.join(expected, on=["person_key", "week_start"], how="inner")
    assert both.height == 10_500
    assert both.filter(pl.col("segment") != pl.col("expected")).height == 0
    # the documented option for vivainsights' exact behaviour (rows, strict 9 of 12) gives the same
    exact = usage_segments(weekly, rules=SegmentRules.vivainsights()).join(expected, on=["person_key", "week_start"])
    assert exact.height == 10_500 and exact.filter(pl.col("segment") != pl.col("expected")).height == 0
    # uptake's default scales the habit threshold in short windows: identical once the window is full
    default = usage_segments(weekly).join(expected, on=["person_key", "week_start"])
    full = default.filter(pl.col("window_len") == 12)
    assert full.height == 300 * 24 and full.filter(pl.col("segment") != pl.col("expected")).height == 0
