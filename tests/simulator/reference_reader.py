"""A deliberately small, independent "correct pipeline" over a simulated drop zone, used only to
check that the planted truth is what a correct reading of the files gives.

It reads the files as written (not the simulator's memory): HR extracts for identities and
eligibility, Slack/Mattermost/Viva Engage exports for events, Microsoft 365 reports for Teams chat
counters and Viva Engage posted / read / liked counts. Identity: trim, Unicode-fold accents, lower-case, drop ``+tag``, then match HR email,
UPN or alias. Week: Monday 00:00 Europe/Paris.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
import zipfile
from pathlib import Path

import polars as pl

TZ = "Europe/Paris"


def normalise_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = unicodedata.normalize("NFKD", raw.strip())
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    if "@" not in text:
        return None
    local, domain = text.split("@", 1)
    return f"{local.split('+', 1)[0]}@{domain}"


def hr_frame(drop_zone: Path) -> pl.DataFrame:
    frames = []
    for path in sorted((drop_zone / "hr").glob("hr_*.csv")):
        snap = dt.date.fromisoformat(path.stem.removeprefix("hr_"))
        frames.append(pl.read_csv(path, infer_schema=False).with_columns(snapshot_date=pl.lit(snap)))
    return pl.concat(frames)


def email_index(hr: pl.DataFrame) -> dict[str, str]:
    index: dict[str, str] = {}
    for col in ("email", "upn", "aliases"):
        for emp, value in hr.select("employee_id", col).unique().iter_rows():
            for v in (value or "").split(";"):
                key = normalise_email(v)
                if key:
                    index[key] = emp
    return index


def _week_start(utc: pl.Expr) -> pl.Expr:
    local = utc.dt.convert_time_zone(TZ)
    return local.dt.date() - pl.duration(days=local.dt.weekday() - 1)


def slack_actions(drop_zone: Path) -> pl.DataFrame:
    """(email, utc time, action) for every human action in the Slack export."""
    rows: list[tuple[str, float, str]] = []
    for path in sorted((drop_zone / "platforms" / "slack").glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            users = {u["id"]: u for u in json.loads(zf.read("users.json"))}
            channels = [c["name"] for c in json.loads(zf.read("channels.json"))]
            for name in zf.namelist():
                if name.split("/", 1)[0] not in channels or not name.endswith(".json"):
                    continue
                for m in json.loads(zf.read(name)):
                    sub = m.get("subtype")
                    if sub in ("bot_message", "channel_join", "tombstone") or "user" not in m:
                        continue
                    author = users.get(m["user"], {})
                    if author.get("is_bot"):
                        continue
                    rows.append((author.get("profile", {}).get("email"), float(m["ts"]), "post"))
                    for r in m.get("reactions", []):
                        for uid in r["users"]:
                            rows.append((users.get(uid, {}).get("profile", {}).get("email"), float(m["ts"]), "react"))
    return pl.DataFrame(rows, schema={"email": pl.Utf8, "epoch": pl.Float64, "action": pl.Utf8}, orient="row")


def mattermost_actions(drop_zone: Path) -> pl.DataFrame:
    rows: list[tuple[str, float, str]] = []
    for path in sorted((drop_zone / "platforms" / "mattermost").glob("*.jsonl")):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        emails = {x["user"]["username"]: x["user"]["email"] for x in lines if x["type"] == "user"}
        for x in lines:
            if x["type"] != "post":
                continue
            p = x["post"]
            rows.append((emails.get(p["user"]), p["create_at"] / 1000, "post"))
            for r in p.get("replies") or []:
                rows.append((emails.get(r["user"]), r["create_at"] / 1000, "reply"))
            for r in p.get("reactions") or []:
                rows.append((emails.get(r["user"]), r["create_at"] / 1000, "react"))
    return pl.DataFrame(rows, schema={"email": pl.Utf8, "epoch": pl.Float64, "action": pl.Utf8}, orient="row")


def viva_actions(drop_zone: Path) -> pl.DataFrame:
    rows: list[tuple[str, float, str]] = []
    for path in sorted((drop_zone / "platforms" / "viva_engage").glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            text = zf.read("Messages.csv").decode("utf-8-sig")
        for m in csv.DictReader(io.StringIO(text, newline="")):
            if m["sender_type"].lower() != "user" or m["deleted_at"]:
                continue
            at = dt.datetime.strptime(m["created_at"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)
            rows.append((m["sender_email"], at.timestamp(), "post"))
    return pl.DataFrame(rows, schema={"email": pl.Utf8, "epoch": pl.Float64, "action": pl.Utf8}, orient="row")


def m365_actions(drop_zone: Path) -> pl.DataFrame:
    """(upn, week_start, action) with a non-zero counter in a weekly usage report: Teams chat
    messages are posts; Viva Engage posted / read / liked counts are post / read / react."""
    frames = []
    for path in sorted((drop_zone / "platforms" / "m365_usage").glob("*.csv")):
        f = pl.read_csv(path, infer_schema=False)
        week = (pl.col("Report Refresh Date").str.to_date() - pl.duration(days=6)).alias("week_start")
        upn = pl.col("User Principal Name").alias("email")
        if "Team Chat Message Count" in f.columns:
            counters = {"post": pl.col("Team Chat Message Count").cast(pl.Int64)
                        + pl.col("Private Chat Message Count").cast(pl.Int64)}
        else:
            counters = {"post": pl.col("Posted Count").cast(pl.Int64), "read": pl.col("Read Count").cast(pl.Int64),
                        "react": pl.col("Liked Count").cast(pl.Int64)}
        for action, count in counters.items():
            frames.append(f.filter(count > 0).select(upn, week, pl.lit(action).alias("action")))
    return pl.concat(frames)


TIER = {"post": "contribution", "reply": "contribution", "react": "reaction", "read": "passive"}


def person_week_actions(drop_zone: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """Distinct (employee_id, week_start, tier) with an action of that tier, and the email index used."""
    hr = hr_frame(drop_zone)
    index = email_index(hr)
    events = pl.concat([slack_actions(drop_zone), mattermost_actions(drop_zone), viva_actions(drop_zone)])
    events = events.with_columns(
        week_start=_week_start(pl.from_epoch(pl.col("epoch") * 1_000_000, time_unit="us").dt.replace_time_zone("UTC")))
    both = pl.concat([events.select("email", "week_start", "action"), m365_actions(drop_zone)])
    keys = both["email"].map_elements(normalise_email, return_dtype=pl.Utf8)
    both = both.with_columns(employee_id=keys.replace_strict(index, default=None, return_dtype=pl.Utf8),
                             tier=pl.col("action").replace_strict(TIER))
    return both.drop_nulls("employee_id").select("employee_id", "week_start", "tier").unique(), index


def active_person_weeks(drop_zone: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """Distinct (employee_id, week_start) observably active, and the email index used."""
    tiers, index = person_week_actions(drop_zone)
    return tiers.select("employee_id", "week_start").unique(), index
