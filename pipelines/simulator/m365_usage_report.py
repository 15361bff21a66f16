"""Microsoft 365 usage reports, one D7 file per week and report:

- "Teams user activity user detail" (``TeamsUserActivityUserDetail_<Sunday>.csv``): Teams licensees.
  The first half of the weeks uses the old 12-column layout, the second half the newer 33-column
  one (different order, extra columns): read by header name. Non-zero chat counters only occur in
  weeks in which the person is active.
- "Viva Engage activity user detail" (``VivaEngageActivityUserDetail_<Sunday>.csv``): Viva Engage
  users with a tenant identity; ``Posted Count``, ``Read Count`` and ``Liked Count``. It is the
  only export of the drop zone that shows passive use (reads).

Each report's Report Refresh Date is the Sunday of the week, so its 7-day period is that Monday to
Sunday. Users are listed every week (zeros when inactive); a leaver stays listed for two weeks
(Teams: ``Is Deleted`` = True; Viva Engage: ``User State`` = Deleted).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipelines.simulator.output_files import csv_bytes
from pipelines.simulator.parameters import ORGANISATION
from pipelines.simulator.world import SimulatedWorld

OLD_COLUMNS: tuple[str, ...] = (
    "Report Refresh Date", "User Principal Name", "Last Activity Date", "Is Deleted", "Deleted Date",
    "Assigned Products", "Team Chat Message Count", "Private Chat Message Count", "Call Count", "Meeting Count",
    "Has Other Action", "Report Period",
)
NEW_COLUMNS: tuple[str, ...] = (
    "Report Refresh Date", "User Id", "User Principal Name", "Last Activity Date", "Is Deleted", "Deleted Date",
    "Assigned Products", "Team Chat Message Count", "Private Chat Message Count", "Call Count", "Meeting Count",
    "Meetings Organized Count", "Meetings Attended Count", "Ad Hoc Meetings Organized Count",
    "Ad Hoc Meetings Attended Count", "Scheduled One-time Meetings Organized Count",
    "Scheduled One-time Meetings Attended Count", "Scheduled Recurring Meetings Organized Count",
    "Scheduled Recurring Meetings Attended Count", "Audio Duration", "Video Duration", "Screen Share Duration",
    "Audio Duration In Seconds", "Video Duration In Seconds", "Screen Share Duration In Seconds",
    "Has Other Action", "Urgent Messages", "Post Messages", "Tenant Display Name",
    "Shared Channel Tenant Display Names", "Reply Messages", "Is Licensed", "Report Period",
)
LEAVER_WEEKS = 2


def _iso_duration(seconds: pl.Expr) -> pl.Expr:
    h, m, s = seconds // 3600, (seconds % 3600) // 60, seconds % 60
    return ("PT" + pl.when(h > 0).then(h.cast(pl.Utf8) + "H").otherwise(pl.lit(""))
            + pl.when(m > 0).then(m.cast(pl.Utf8) + "M").otherwise(pl.lit(""))
            + pl.when((s > 0) | (seconds == 0)).then(s.cast(pl.Utf8) + "S").otherwise(pl.lit("")))


def _listed(world: SimulatedWorld, person: np.ndarray) -> np.ndarray:
    """person x week: listed in the weekly report (employed, or in the two weeks after leaving)."""
    org, W = world.org, world.timeline.weeks
    weeks = np.arange(W)[None, :]
    last = org.last_week[person, None]
    listed = org.employed[person] | ((last < W) & (weeks > last) & (weeks <= last + LEAVER_WEEKS))
    return listed & (weeks >= org.first_week[person, None])


def report_rows(world: SimulatedWorld) -> pl.DataFrame:
    """Every (user, week) row of the weekly reports, with all counters."""
    org, tl, rng = world.org, world.timeline, world.writer_rng
    W = tl.weeks
    users = world.m365.filter(pl.col("teams")).with_row_index("u").with_columns(pl.col("u").cast(pl.Int64))
    emp = users.filter(pl.col("person") >= 0)
    person = emp["person"].to_numpy()
    ui, tt = np.nonzero(_listed(world, person))
    rows = pl.DataFrame({"u": emp["u"].to_numpy()[ui], "person": person[ui], "week": tt})
    counts = world.events.teams_counts.pivot(on="counter", index=["person", "week"], values="count")
    for c in ("team_chat", "private_chat", "call", "meeting"):
        if c not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.UInt32).alias(c))
    rows = rows.join(counts, on=["person", "week"], how="left").with_columns(
        pl.col("team_chat", "private_chat", "call", "meeting").fill_null(0).cast(pl.Int64))
    # guests (contractors) report some chat activity most weeks
    guests = users.filter(pl.col("person") < 0)
    g = pl.DataFrame({"u": np.repeat(guests["u"].to_numpy(), W), "person": -1,
                      "week": np.tile(np.arange(W), guests.height)})
    n = g.height
    g = g.with_columns(team_chat=pl.Series(rng.poisson(1.0, n)), private_chat=pl.Series(rng.poisson(2.0, n)),
                       call=pl.lit(0), meeting=pl.Series(rng.poisson(1.0, n))).with_columns(
        pl.col("team_chat", "private_chat", "call", "meeting").cast(pl.Int64))
    key = [pl.col("u").cast(pl.Int64), pl.col("person").cast(pl.Int64), pl.col("week").cast(pl.Int64)]
    rows = pl.concat([rows.with_columns(key), g.with_columns(key).select(rows.columns)]).sort("week", "u")
    # last activity date: the latest day with any Teams action up to the report's Sunday
    last_day = world.events.teams_last_day.with_columns(
        day=pl.lit(tl.start) + pl.duration(days=pl.col("week") * 7 + pl.col("day")))
    rows = rows.join(last_day.select("person", "week", "day"), on=["person", "week"], how="left")
    rows = rows.with_columns(
        day=pl.when(pl.col("person") < 0).then(pl.lit(tl.start) + pl.duration(days=pl.col("week") * 7 + 2))
        .otherwise(pl.col("day")))
    rows = rows.with_columns(last_activity=pl.col("day").forward_fill().over("u", order_by="week")).drop("day")
    post = pl.Series(rng.binomial(rows["team_chat"].to_numpy(), 0.6))
    n = rows.height
    meetings = rows["meeting"].to_numpy()
    organised = rng.binomial(meetings, 0.3)
    audio = (rows["call"].to_numpy() * rng.integers(60, 900, n) + meetings * rng.integers(600, 2400, n))
    video = (audio * rng.uniform(0.0, 0.8, n)).astype(np.int64)
    screen = (audio * rng.uniform(0.0, 0.3, n)).astype(np.int64)
    term = org.termination_date
    users_person = users["person"].to_numpy()
    deleted_date = np.full(users.height, np.datetime64("NaT"), dtype="datetime64[D]")
    emp_rows = users_person >= 0
    deleted_date[emp_rows] = term[users_person[emp_rows]] + 3
    return rows.with_columns(
        post=post, reply=pl.col("team_chat") - post,
        urgent=pl.Series(rng.binomial(rows["private_chat"].to_numpy(), 0.02)),
        organised=pl.Series(organised), attended=pl.col("meeting") - pl.Series(organised),
        audio=pl.Series(audio), video=pl.Series(video), screen=pl.Series(screen),
        upn=pl.col("u").replace_strict(users["u"], users["upn"]),
        user_id=pl.col("u").replace_strict(users["u"], users["user_id"]),
        frontline=pl.col("u").replace_strict(users["u"], users["frontline"]),
        deleted_date=pl.col("u").replace_strict(users["u"], pl.Series(deleted_date)),
        refresh=pl.lit(tl.start) + pl.duration(days=pl.col("week") * 7 + 6),
    ).with_columns(
        is_deleted=pl.col("deleted_date").is_not_null() & (pl.col("deleted_date") <= pl.col("refresh")),
    )


def write_m365_reports(world: SimulatedWorld, out_dir: Path) -> list[Path]:
    folder = out_dir / "platforms" / "m365_usage"
    folder.mkdir(parents=True, exist_ok=True)
    rows = report_rows(world)
    W = world.timeline.weeks
    cols = rows.select(
        "week",
        pl.col("refresh").cast(pl.Utf8).alias("Report Refresh Date"),
        pl.col("user_id").alias("User Id"),
        pl.col("upn").alias("User Principal Name"),
        pl.col("last_activity").cast(pl.Utf8).fill_null("").alias("Last Activity Date"),
        pl.when(pl.col("is_deleted")).then(pl.lit("True")).otherwise(pl.lit("False")).alias("Is Deleted"),
        pl.when(pl.col("is_deleted")).then(pl.col("deleted_date").cast(pl.Utf8)).otherwise(pl.lit(""))
        .alias("Deleted Date"),
        pl.when(pl.col("frontline")).then(pl.lit("MICROSOFT 365 F3"))
        .otherwise(pl.lit("MICROSOFT 365 E3+MICROSOFT TEAMS PHONE STANDARD")).alias("Assigned Products"),
        pl.col("team_chat").alias("Team Chat Message Count"),
        pl.col("private_chat").alias("Private Chat Message Count"),
        pl.col("call").alias("Call Count"),
        pl.col("meeting").alias("Meeting Count"),
        pl.col("organised").alias("Meetings Organized Count"),
        pl.col("attended").alias("Meetings Attended Count"),
        (pl.col("organised") // 2).alias("Ad Hoc Meetings Organized Count"),
        (pl.col("attended") // 2).alias("Ad Hoc Meetings Attended Count"),
        (pl.col("organised") - pl.col("organised") // 2).alias("Scheduled One-time Meetings Organized Count"),
        (pl.col("attended") - pl.col("attended") // 2).alias("Scheduled One-time Meetings Attended Count"),
        pl.lit(0).alias("Scheduled Recurring Meetings Organized Count"),
        pl.lit(0).alias("Scheduled Recurring Meetings Attended Count"),
        _iso_duration(pl.col("audio")).alias("Audio Duration"),
        _iso_duration(pl.col("video")).alias("Video Duration"),
        _iso_duration(pl.col("screen")).alias("Screen Share Duration"),
        pl.col("audio").alias("Audio Duration In Seconds"),
        pl.col("video").alias("Video Duration In Seconds"),
        pl.col("screen").alias("Screen Share Duration In Seconds"),
        pl.when(pl.col("meeting") + pl.col("call") > 0).then(pl.lit("Yes")).otherwise(pl.lit("No"))
        .alias("Has Other Action"),
        pl.col("urgent").alias("Urgent Messages"),
        pl.col("post").alias("Post Messages"),
        pl.lit(ORGANISATION).alias("Tenant Display Name"),
        pl.lit("").alias("Shared Channel Tenant Display Names"),
        pl.col("reply").alias("Reply Messages"),
        pl.when(pl.col("is_deleted")).then(pl.lit("False")).otherwise(pl.lit("True")).alias("Is Licensed"),
        pl.lit(7).alias("Report Period"),
    )
    paths = []
    for (week,), part in cols.partition_by("week", as_dict=True, maintain_order=True).items():
        layout = OLD_COLUMNS if week < W // 2 else NEW_COLUMNS
        refresh = world.timeline.sunday(int(week)).isoformat()
        path = folder / f"TeamsUserActivityUserDetail_{refresh}.csv"
        path.write_bytes(csv_bytes(part.select(layout), bom=True))
        paths.append(path)
    return paths


VIVA_ENGAGE_COLUMNS: tuple[str, ...] = (
    "Report Refresh Date", "User Principal Name", "Display Name", "User State", "State Change Date",
    "Last Activity Date", "Posted Count", "Read Count", "Liked Count", "Assigned Products", "Report Period",
)


def viva_engage_rows(world: SimulatedWorld) -> pl.DataFrame:
    """Every (Viva Engage user, week) row of the weekly Viva Engage activity reports."""
    org, tl, rng = world.org, world.timeline, world.writer_rng
    users = world.m365.filter(pl.col("viva") & (pl.col("person") >= 0))
    person = users["person"].to_numpy()
    ui, tt = np.nonzero(_listed(world, person))
    rows = pl.DataFrame({"person": person[ui].astype(np.int64), "week": tt.astype(np.int64)})
    rows = rows.join(world.events.viva_counts, on=["person", "week"], how="left").with_columns(
        pl.col("posted", "read", "liked").fill_null(0))
    any_activity = (pl.col("posted") + pl.col("read") + pl.col("liked")) > 0
    day = pl.Series(rng.choice(7, size=rows.height, p=[0.22, 0.22, 0.21, 0.20, 0.13, 0.01, 0.01]))
    rows = rows.with_columns(
        day=pl.when(any_activity).then(pl.lit(tl.start) + pl.duration(days=pl.col("week") * 7 + day)))
    rows = rows.with_columns(last_activity=pl.col("day").forward_fill().over("person", order_by="week")).drop("day")
    term = org.termination_date[rows["person"].to_numpy()]
    refresh = np.asarray([tl.sunday(int(w)) for w in range(tl.weeks)], dtype="datetime64[D]")[rows["week"].to_numpy()]
    deleted = ~np.isnat(term) & (term + 3 <= refresh)
    names = org.display_name[rows["person"].to_numpy()].astype(str)
    return rows.with_columns(
        upn=pl.col("person").replace_strict(users["person"], users["upn"]),
        frontline=pl.col("person").replace_strict(users["person"], users["frontline"]),
        refresh=pl.Series(refresh), deleted=pl.Series(deleted), state_change=pl.Series(term + 3),
        display_name=pl.Series(names),
    )


def write_viva_engage_reports(world: SimulatedWorld, out_dir: Path) -> list[Path]:
    folder = out_dir / "platforms" / "m365_usage"
    folder.mkdir(parents=True, exist_ok=True)
    rows = viva_engage_rows(world)
    cols = rows.sort("week", "upn").select(
        "week",
        pl.col("refresh").cast(pl.Utf8).alias("Report Refresh Date"),
        pl.col("upn").alias("User Principal Name"),
        pl.col("display_name").alias("Display Name"),
        pl.when(pl.col("deleted")).then(pl.lit("Deleted")).otherwise(pl.lit("Active")).alias("User State"),
        pl.when(pl.col("deleted")).then(pl.col("state_change").cast(pl.Utf8)).otherwise(pl.lit(""))
        .alias("State Change Date"),
        pl.col("last_activity").cast(pl.Utf8).fill_null("").alias("Last Activity Date"),
        pl.col("posted").alias("Posted Count"),
        pl.col("read").alias("Read Count"),
        pl.col("liked").alias("Liked Count"),
        pl.when(pl.col("frontline")).then(pl.lit("MICROSOFT 365 F1")).otherwise(pl.lit("MICROSOFT 365 E3"))
        .alias("Assigned Products"),
        pl.lit(7).alias("Report Period"),
    )
    paths = []
    for (week,), part in cols.partition_by("week", as_dict=True, maintain_order=True).items():
        refresh = world.timeline.sunday(int(week)).isoformat()
        path = folder / f"VivaEngageActivityUserDetail_{refresh}.csv"
        path.write_bytes(csv_bytes(part.select(VIVA_ENGAGE_COLUMNS), bom=True))
        paths.append(path)
    return paths
