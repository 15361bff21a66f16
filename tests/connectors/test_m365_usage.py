"""Microsoft 365 usage report connector against hand-written reports.

Fixture files (tests/fixtures/connectors/m365_usage/platforms/m365_usage/), counts established
row by row when writing them:
- 'TeamsUserActivityUserDetail 3_8_2026.csv': the 33-column Teams header, D7 to 2026-03-08. Line 2
  alice (3 channel posts, 2 replies, 5 chats, 'Team Chat Message Count' 5 = posts + replies, 4
  meetings, 1 h audio), line 3 bob (nothing), line 4 a concealed UPN, line 5 carol (deleted user,
  1 post + 2 chats), line 6 alice again, line 7 a counter 'n/a', line 8 eve (empty counters, 1 post).
  -> 4 users x (post, reply) = 8 rows; 3 rejects.
- 'teams_old_format.csv': the 12-column header, lower-cased, period 30 (and 'D30') to 2026-02-28; line 4
  has period 'thirty'. -> 2 post rows (no reply column), 1 reject.
- 'VivaEngageActivityUserDetail.csv': D7 to 2026-03-08, alice and dan (post, read, react), line 4
  dated 2099. -> 6 rows, 1 reject.
- 'readme_notes.csv': not a report -> 1 reject.
Over the drop zone alice's Teams and Viva Engage posts for the same week are added: 8 + 2 = 10,
so 8 + 2 + 6 - 1 = 15 rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors.base import Batch
from pipelines.connectors.m365_usage import TEAMS, VIVA_ENGAGE, M365UsageConnector, recognise_report
from transforms.contracts import ACTIVITY_COUNTS, REJECTS

ROOT = Path(__file__).parents[1] / "fixtures" / "connectors" / "m365_usage"
FOLDER = ROOT / "platforms" / "m365_usage"
TEAMS_NEW = FOLDER / "TeamsUserActivityUserDetail 3_8_2026.csv"
NOW = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
WEEK = (dt.date(2026, 3, 2), dt.date(2026, 3, 8))


def _split(batches: list[Batch]) -> tuple[pl.DataFrame, pl.DataFrame]:
    counts = [b.frame for b in batches if b.table == "activity_counts"]
    rejects = [b.frame for b in batches if b.table == "rejects"]
    return (
        pl.concat(counts) if counts else pl.DataFrame(schema=ACTIVITY_COUNTS.schema),
        pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECTS.schema),
    )


def _as_dict(counts: pl.DataFrame) -> dict[tuple[str, dt.date, dt.date, str], int]:
    return {
        (r["account_id"].split("@")[0], r["period_start"], r["period_end"], r["action"]): r["count"]
        for r in counts.iter_rows(named=True)
    }


@pytest.fixture(scope="module")
def drop_zone() -> tuple[pl.DataFrame, pl.DataFrame]:
    return _split(list(M365UsageConnector(now=NOW).read_drop_zone(ROOT)))


def test_drop_zone_counts_and_mapping(drop_zone: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    counts, _ = drop_zone
    assert counts.schema == ACTIVITY_COUNTS.schema
    assert counts.height == 15
    month = (dt.date(2026, 1, 30), dt.date(2026, 2, 28))
    assert _as_dict(counts) == {
        ("alice.admin", *WEEK, "post"): 10,  # Teams 3 channel posts + 5 chats, Viva Engage 2 posts
        ("alice.admin", *WEEK, "reply"): 2,
        ("alice.admin", *WEEK, "read"): 30,
        ("alice.admin", *WEEK, "react"): 5,
        ("bob.brun", *WEEK, "post"): 0,
        ("bob.brun", *WEEK, "reply"): 0,
        ("carol.c", *WEEK, "post"): 3,  # deleted user: the activity happened
        ("carol.c", *WEEK, "reply"): 0,
        ("eve.lind", *WEEK, "post"): 1,  # empty counters are zero
        ("eve.lind", *WEEK, "reply"): 0,
        ("dan.ortiz", *WEEK, "post"): 0,
        ("dan.ortiz", *WEEK, "read"): 3,
        ("dan.ortiz", *WEEK, "react"): 0,
        ("alice.admin", *month, "post"): 14,  # old report: team chat 10 + private chat 4
        ("bob.brun", *month, "post"): 1,  # 'D30'
    }
    assert counts.select(pl.struct(list(ACTIVITY_COUNTS.key)).is_unique().all()).item()
    alice_post = counts.filter((pl.col("account_id") == "alice.admin@northwind.example") & (pl.col("action") == "post")
                               & (pl.col("period_end") == WEEK[1]))
    assert alice_post["source_file"].item() == "TeamsUserActivityUserDetail 3_8_2026.csv;VivaEngageActivityUserDetail.csv"
    assert (counts["account_email"] == counts["account_id"]).all()
    assert set(counts["source"]) == {"m365_usage"}


def test_drop_zone_rejects(drop_zone: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, rejects = drop_zone
    assert rejects.schema == REJECTS.schema
    reasons = dict(zip(rejects["locator"], rejects["reason"], strict=True))
    assert len(reasons) == 6
    assert reasons["TeamsUserActivityUserDetail 3_8_2026.csv line 4"].startswith(
        "User Principal Name: concealed (hashed) by the tenant's report privacy setting"
    )
    assert reasons["TeamsUserActivityUserDetail 3_8_2026.csv line 6"] == (
        "repeats a (report, User Principal Name, period) already read"
    )
    assert reasons["TeamsUserActivityUserDetail 3_8_2026.csv line 7"] == (
        "Private Chat Message Count: expected a whole number, found 'n/a'"
    )
    assert reasons["teams_old_format.csv line 4"] == (
        "Report Period: expected a number of days (7, 30, 90, 180), found 'thirty'"
    )
    assert reasons["VivaEngageActivityUserDetail.csv line 4"] == (
        "Report Refresh Date: 2099-03-08 is in the future (more than one day after the time of reading)"
    )
    assert reasons["readme_notes.csv line 1"].startswith("not a recognised usage report")
    excerpts = dict(zip(rejects["locator"], rejects["excerpt"], strict=True))
    assert excerpts["TeamsUserActivityUserDetail 3_8_2026.csv line 4"] == "upn=5F1C4E7A9B2D3C8E0F6A1B2C3D4E5F60"


def test_single_report_read_alone() -> None:
    counts, rejects = _split(list(M365UsageConnector(now=NOW).read(TEAMS_NEW)))
    assert counts.height == 8 and rejects.height == 3
    assert _as_dict(counts)[("alice.admin", *WEEK, "post")] == 8
    small = _split(list(M365UsageConnector(now=NOW, batch_rows=2).read(TEAMS_NEW)))
    assert small[0].equals(counts)


def test_report_recognised_by_header_not_name(tmp_path: Path) -> None:
    renamed = tmp_path / "download (3).csv"
    renamed.write_bytes((FOLDER / "VivaEngageActivityUserDetail.csv").read_bytes())
    counts, _ = _split(list(M365UsageConnector(now=NOW).read(renamed)))
    assert sorted(set(counts["action"])) == ["post", "react", "read"]
    assert recognise_report(["Report Refresh Date", " team chat message count "]) is TEAMS
    assert recognise_report(["Liked Count"]) is VIVA_ENGAGE
    assert recognise_report(["User Principal Name", "Storage Used (Byte)"]) is None


def test_fully_concealed_report_is_quarantined_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "teams.csv"
    path.write_text(
        "Report Refresh Date,User Principal Name,Team Chat Message Count,Private Chat Message Count,Report Period\n"
        "2026-03-08,0123456789ABCDEF0123456789ABCDEF,1,2,7\n"
        "2026-03-08,FEDCBA9876543210FEDCBA9876543210,0,0,7\n"
    )
    counts, rejects = _split(list(M365UsageConnector(now=NOW).read(path)))
    assert counts.height == 0
    assert rejects.height == 2 and rejects["reason"].str.contains("concealed").all()


def test_report_without_period_column_is_quarantined_whole(tmp_path: Path) -> None:
    path = tmp_path / "teams.csv"
    path.write_text("Report Refresh Date,User Principal Name,Team Chat Message Count\n2026-03-08,a@x.example,1\n")
    counts, rejects = _split(list(M365UsageConnector(now=NOW).read(path)))
    assert counts.height == 0
    assert rejects.select("locator", "reason").rows() == [
        ("teams.csv line 1", "missing column(s) Report Period; a teams_user_activity report needs "
                             "Report Refresh Date, User Principal Name, Report Period")
    ]


def test_same_report_twice_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "platforms" / "m365_usage"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(TEAMS_NEW.read_bytes())
    (folder / "b.csv").write_bytes(TEAMS_NEW.read_bytes())
    counts, rejects = _split(list(M365UsageConnector(now=NOW).read_drop_zone(tmp_path)))
    once, _ = _split(list(M365UsageConnector(now=NOW).read(TEAMS_NEW)))
    assert counts.drop("source_file").equals(once.drop("source_file"))
    # b.csv: its 4 good rows (alice, bob, carol, eve) repeat a.csv's, plus its own 3 bad rows
    assert rejects.filter(pl.col("file").str.ends_with("b.csv")).height == 7
