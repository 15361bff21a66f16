"""A deliberately small, independent "correct pipeline" over a simulated drop zone, used only to
check that the planted truth is what a correct reading of the files gives.

It reads the files as written (not the simulator's memory): HR extracts for identities and
eligibility, Slack/Mattermost/Viva Engage exports (or the Zulip, Google Chat and Rocket.Chat exports
written instead of Slack's or Mattermost's) for events, Microsoft 365 reports (or a Viva Insights
person query) for Teams chat counters and Viva Engage posted / read / liked counts. Identity: trim, Unicode-fold accents, lower-case, drop ``+tag``, then match HR email,
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


def _export_files(folder: Path) -> list[dict[str, bytes]]:
    """Every export in ``folder`` (a .zip, a .tar.gz or a directory) as {member path: bytes}."""
    import tarfile

    exports: list[dict[str, bytes]] = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                exports.append({n: zf.read(n) for n in zf.namelist() if not n.endswith("/")})
        elif path.name.endswith(".tar.gz"):
            with tarfile.open(path) as tf:
                exports.append({m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()})
        elif path.is_dir():
            exports.append({str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()})
    return exports


def zulip_actions(drop_zone: Path) -> pl.DataFrame:
    """Human messages and reactions of every Zulip realm export (a reaction at its message's time)."""
    rows: list[tuple[str, float, str]] = []
    for files in _export_files(drop_zone / "platforms" / "zulip"):
        realm = json.loads(next(v for k, v in files.items() if k.endswith("realm.json")))
        users = {u["id"]: u for u in realm["zerver_userprofile"]}
        sent: dict[int, float] = {}
        for name in sorted(k for k in files if k.rsplit("/", 1)[-1].startswith("messages-")):
            for m in json.loads(files[name])["zerver_message"]:
                sent[m["id"]] = float(m["date_sent"])
                author = users.get(m["sender"])
                if author and not author["is_bot"] and m.get("type", 1) == 1:
                    rows.append((author["delivery_email"], float(m["date_sent"]), "post"))
        for r in realm["zerver_reaction"]:
            author = users.get(r["user_profile"])
            if author and not author["is_bot"] and r["message"] in sent:
                rows.append((author["delivery_email"], sent[r["message"]], "react"))
    return pl.DataFrame(rows, schema={"email": pl.Utf8, "epoch": pl.Float64, "action": pl.Utf8}, orient="row")


_OFFSETS = {"UTC": 0, "GMT": 0, "CET": 1, "CEST": 2}


def google_chat_time(text: str) -> float:
    """Takeout's ``Monday, January 5, 2026 at 9:15:00\u202fAM CET`` as epoch seconds."""
    stamp, zone = text.replace("\u202f", " ").rsplit(" ", 1)
    local = dt.datetime.strptime(stamp, "%A, %B %d, %Y at %I:%M:%S %p")
    return local.replace(tzinfo=dt.timezone(dt.timedelta(hours=_OFFSETS[zone]))).timestamp()


def google_chat_actions(drop_zone: Path) -> pl.DataFrame:
    """Human messages and reactions of every Google Takeout (a reaction at its message's time)."""
    rows: list[tuple[str, float, str]] = []
    for files in _export_files(drop_zone / "platforms" / "google_chat"):
        for name in sorted(k for k in files if k.endswith("/messages.json") and "/Groups/" in k):
            for m in json.loads(files[name])["messages"]:
                if m["creator"]["user_type"] == "Bot":
                    continue
                at = google_chat_time(m["created_date"])
                rows.append((m["creator"]["email"], at, "post"))
                for r in m.get("reactions", []):
                    rows.extend((email, at, "react") for email in r["reactor_emails"])
    return pl.DataFrame(rows, schema={"email": pl.Utf8, "epoch": pl.Float64, "action": pl.Utf8}, orient="row")


def rocket_chat_actions(drop_zone: Path) -> pl.DataFrame:
    """Human messages (not system messages, bots or edit-history copies) and reactions of every
    Rocket.Chat dump (a reaction at its message's time)."""
    rows: list[tuple[str, float, str]] = []
    for files in _export_files(drop_zone / "platforms" / "rocket_chat"):
        users = [json.loads(x) for x in files["users.json"].decode("utf-8").splitlines() if x.strip()]
        email = {u["_id"]: (u.get("emails") or [{}])[0].get("address") for u in users}
        by_name = {u["username"]: u["_id"] for u in users}
        bots = {u["_id"] for u in users if u.get("type") == "bot" or "bot" in u.get("roles", [])}
        for line in files["rocketchat_message.json"].decode("utf-8").splitlines():
            m = json.loads(line)
            if m.get("_hidden") or m.get("t") or m.get("bot") or m["u"]["_id"] in bots:
                continue
            at = dt.datetime.fromisoformat(m["ts"]["$date"].replace("Z", "+00:00")).timestamp()
            rows.append((email[m["u"]["_id"]], at, "post"))
            for reaction in (m.get("reactions") or {}).values():
                rows.extend((email[by_name[u]], at, "react") for u in reaction["usernames"])
    return pl.DataFrame(rows, schema={"email": pl.Utf8, "epoch": pl.Float64, "action": pl.Utf8}, orient="row")


def viva_insights_actions(drop_zone: Path) -> pl.DataFrame:
    """(PersonId, week_start, "post") for every person query row with a chat or channel message:
    the Sunday ``MetricDate`` starts the week of the Monday after."""
    rows: list[tuple[str, dt.date, str]] = []
    for path in sorted((drop_zone / "platforms" / "viva_insights").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                if float(r["Chats_sent"]) + float(r["Channel_message_posts"]) > 0:
                    monday = dt.date.fromisoformat(r["MetricDate"]) + dt.timedelta(days=1)
                    rows.append((r["PersonId"], monday, "post"))
    return pl.DataFrame(rows, schema={"email": pl.Utf8, "week_start": pl.Date, "action": pl.Utf8}, orient="row")


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
    return pl.concat(frames) if frames else pl.DataFrame(
        schema={"email": pl.Utf8, "week_start": pl.Date, "action": pl.Utf8})


TIER = {"post": "contribution", "reply": "contribution", "react": "reaction", "read": "passive"}


def person_week_actions(drop_zone: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """Distinct (employee_id, week_start, tier) with an action of that tier, and the email index used."""
    hr = hr_frame(drop_zone)
    index = email_index(hr)
    events = pl.concat([slack_actions(drop_zone), mattermost_actions(drop_zone), viva_actions(drop_zone),
                        zulip_actions(drop_zone), google_chat_actions(drop_zone), rocket_chat_actions(drop_zone)])
    events = events.with_columns(
        week_start=_week_start(pl.from_epoch(pl.col("epoch") * 1_000_000, time_unit="us").dt.replace_time_zone("UTC")))
    both = pl.concat([events.select("email", "week_start", "action"), m365_actions(drop_zone),
                      viva_insights_actions(drop_zone)])
    keys = both["email"].map_elements(normalise_email, return_dtype=pl.Utf8)
    both = both.with_columns(employee_id=keys.replace_strict(index, default=None, return_dtype=pl.Utf8),
                             tier=pl.col("action").replace_strict(TIER))
    return both.drop_nulls("employee_id").select("employee_id", "week_start", "tier").unique(), index


def active_person_weeks(drop_zone: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """Distinct (employee_id, week_start) observably active, and the email index used."""
    tiers, index = person_week_actions(drop_zone)
    return tiers.select("employee_id", "week_start").unique(), index
