"""Microsoft 365 "Teams user activity user detail" reports, one D7 file per week.

Each report's Report Refresh Date is the Sunday of the week, so its 7-day period is that Monday to
Sunday. Licensed users are listed every week (zeros when inactive); a leaver stays listed for two
weeks with ``Is Deleted`` = True. The first half of the weeks uses the old 12-column layout, the
second half the newer 33-column one (different order, extra columns): read by header name.
Non-zero chat counters only occur in weeks in which the person is active.
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


def report_rows(world: SimulatedWorld) -> pl.DataFrame:
    """Every (user, week) row of the weekly reports, with all counters."""
    org, tl, rng = world.org, world.timeline, world.writer_rng
    W = tl.weeks
    users = world.m365.with_row_index("u").with_columns(pl.col("u").cast(pl.Int64))
    emp = users.filter(pl.col("person") >= 0)
    person = emp["person"].to_numpy()
    listed = org.employed[person] | (
        (org.last_week[person, None] < W) & (np.arange(W)[None, :] > org.last_week[person, None])
        & (np.arange(W)[None, :] <= org.last_week[person, None] + LEAVER_WEEKS))
    listed &= np.arange(W)[None, :] >= org.first_week[person, None]
    ui, tt = np.nonzero(listed)
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
