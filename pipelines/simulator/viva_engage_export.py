"""Viva Engage (Yammer) network data export (ZIP of CSVs): Messages, Users, Groups, Topics, Files.

UTF-8 with a BOM, CRLF row ends with multi-line quoted bodies, booleans in mixed case (``true`` and
``TRUE``), a thread starter has ``thread_id == id``, deletions keep their row with ``deleted_at``,
mentions as ``[[user:ID]]``, uploads as ``uploadedfile:ID``, a bot sender (``sender_type`` bot, not
listed in Users.csv), a private group, and a few private conversations (``participants``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.simulator.output_files import csv_bytes, write_zip
from pipelines.simulator.organisation import DEPARTMENTS
from pipelines.simulator.text import FILE_NAMES
from pipelines.simulator.world import SimulatedWorld

MESSAGE_COLUMNS: tuple[str, ...] = (
    "id", "replied_to_id", "thread_id", "group_id", "group_name", "participants", "in_private_group",
    "in_private_conversation", "sender_id", "sender_type", "sender_name", "sender_email", "body", "api_url",
    "attachments", "deleted_by_id", "deleted_by_type", "created_at", "deleted_at",
)
API = "https://www.yammer.com/api/v1"


def _csv(frame: pl.DataFrame) -> bytes:
    return csv_bytes(frame, bom=True, line_terminator="\r\n")


def _utc_text(t_us: pl.Expr) -> pl.Expr:
    return t_us.cast(pl.Datetime("us", "UTC")).dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def _bool_text(value: pl.Expr, upper: pl.Expr) -> pl.Expr:
    text = pl.when(value).then(pl.lit("true")).otherwise(pl.lit("false"))
    return pl.when(upper).then(text.str.to_uppercase()).otherwise(text)


def message_rows(world: SimulatedWorld) -> pl.DataFrame:
    """Messages.csv rows (plus helper columns) from the Viva Engage events."""
    rng = world.writer_rng
    acc = world.accounts.select("account", "account_id", "display_name", "email", "is_bot")
    ev = (world.events.events.filter(pl.col("source") == "viva_engage").filter(pl.col("kind") != "react")
          .join(acc, on="account", how="left").sort("t_us", "event"))
    n = ev.height
    # increasing ids with random gaps, as Yammer's are
    ids = (np.int64(1_700_000_000_000) + np.cumsum(rng.integers(1, 5_000_000, size=n))).astype(str)
    id_of = pl.DataFrame({"event": ev["event"], "msg_id": ids})
    ev = ev.with_columns(msg_id=pl.Series(ids))
    ev = ev.join(id_of.rename({"event": "parent", "msg_id": "parent_msg_id"}), on="parent", how="left")
    spaces = pl.DataFrame({
        "space": np.arange(len(world.spaces)),
        "group_id": world.space_ids,
        "group_name": [s.name for s in world.spaces],
        "private": [s.private for s in world.spaces],
        "role": [s.kind for s in world.spaces],
    })
    ev = ev.join(spaces, on="space", how="left")
    u = rng.random((n, 3))
    # a few All Company posts without replies by employees are private conversations instead
    private_conv = ((pl.col("group_name") == "All Company") & (pl.col("kind") == "post") & (pl.col("seq") > 0)
                    & (pl.col("n_replies") == 0) & pl.Series(u[:, 0] < 0.05))
    humans = world.accounts.filter((pl.col("source") == "viva_engage") & ~pl.col("is_bot"))["account_id"].to_numpy()
    other = humans[rng.integers(len(humans), size=n)] if len(humans) else np.full(n, "")
    file_ids = (np.int64(900_000_000) + np.arange(n) * 7 + rng.integers(0, 7, size=n)).astype(str)
    ev = ev.with_columns(private_conv=private_conv, other=pl.Series(other.astype(str)),
                         file_id=pl.Series(file_ids), upper=pl.Series(u[:, 1] < 0.2))
    return ev.with_columns(
        id=pl.col("msg_id"),
        replied_to_id=pl.col("parent_msg_id").fill_null(""),
        thread_id=pl.when(pl.col("kind") == "reply").then(pl.col("parent_msg_id")).otherwise(pl.col("msg_id")),
        group_id=pl.when(pl.col("private_conv")).then(pl.lit("")).otherwise(pl.col("group_id")),
        group_name=pl.when(pl.col("private_conv")).then(pl.lit("")).otherwise(pl.col("group_name")),
        participants=pl.when(pl.col("private_conv"))
        .then("user:" + pl.col("account_id") + ",user:" + pl.col("other")).otherwise(pl.lit("")),
        in_private_group=_bool_text(pl.col("private") & ~pl.col("private_conv"), pl.col("upper")),
        in_private_conversation=_bool_text(pl.col("private_conv"), pl.col("upper")),
        sender_id=pl.col("account_id"),
        sender_type=pl.when(pl.col("is_bot")).then(pl.lit("bot")).otherwise(pl.lit("user")),
        sender_name=pl.col("display_name"),
        sender_email=pl.col("email").fill_null(""),
        body=pl.when(pl.col("is_bot")).then(pl.col("text") + "\nQuestions and feedback: reply in this thread.")
        .otherwise(pl.col("text")),
        api_url=pl.lit(f"{API}/messages/") + pl.col("msg_id"),
        attachments=pl.when(pl.col("kind") == "upload").then("uploadedfile:" + pl.col("file_id")).otherwise(pl.lit("")),
        deleted_by_id=pl.when(pl.col("deleted")).then(pl.col("account_id")).otherwise(pl.lit("")),
        deleted_by_type=pl.when(pl.col("deleted")).then(pl.lit("user")).otherwise(pl.lit("")),
        created_at=_utc_text(pl.col("t_us")),
        deleted_at=pl.when(pl.col("deleted")).then(_utc_text(pl.col("t_us") + 86_400 * 10 ** 6)).otherwise(pl.lit("")),
    )


def write_viva_engage_export(world: SimulatedWorld, out_dir: Path) -> Path:
    tl, org = world.timeline, world.org
    msgs = message_rows(world)
    files: dict[str, bytes] = {"Messages.csv": _csv(msgs.select(MESSAGE_COLUMNS))}

    acc = world.accounts.filter((pl.col("source") == "viva_engage") & ~pl.col("is_bot")).sort("account_id")
    person = acc["person"].to_numpy()
    valid = person >= 0
    safe = np.where(valid, person, 0)
    dept = np.asarray([d.name for d in DEPARTMENTS])[org.department[safe]]
    joined = (pl.lit(tl.start) + pl.duration(days=pl.col("created_week") * 7 + 1)).cast(pl.Utf8) + " 09:12:44 UTC"
    users = acc.with_columns(
        job_title=pl.Series(np.where(valid, org.job_family[safe].astype(str), "")),
        location=pl.Series(np.where(valid, org.site_codes()[safe], "")),
        department=pl.Series(np.where(valid, dept, "")),
    ).select(
        pl.col("account_id").alias("id"), pl.col("display_name").alias("name"), pl.col("email").fill_null(""),
        "job_title", "location", "department",
        (pl.lit(f"{API}/users/") + pl.col("account_id")).alias("api_url"),
        pl.lit("").alias("deleted_by_id"),
        pl.when(pl.col("deleted")).then(pl.lit("system")).otherwise(pl.lit("")).alias("deleted_by_type"),
        joined.alias("joined_at"),
        pl.lit("").alias("suspended_by_id"), pl.lit("").alias("suspended_by_type"), pl.lit("").alias("suspended_at"),
        pl.when(pl.col("deleted")).then(pl.lit("soft_delete")).otherwise(pl.lit("active")).alias("state"),
    )
    files["Users.csv"] = _csv(users)

    groups = [(j, s) for j, s in enumerate(world.spaces) if s.source == "viva_engage"]
    files["Groups.csv"] = _csv(pl.DataFrame({
        "id": [world.space_ids[j] for j, _ in groups],
        "name": [s.name for _, s in groups],
        "description": [s.purpose for _, s in groups],
        "private": ["True" if s.private else "False" for _, s in groups],
        "deleted": ["False"] * len(groups),
        "creator_id": [acc["account_id"][0] if acc.height else ""] * len(groups),
        "creator_type": ["user"] * len(groups),
        "created_at": [f"{tl.start - dt.timedelta(days=90 + j)} 10:00:00 UTC" for j, _ in groups],
        "updated_at": [f"{tl.start} 10:00:00 UTC"] * len(groups),
        "api_url": [f"{API}/groups/{world.space_ids[j]}" for j, _ in groups],
    }))
    tags = (msgs.select(pl.col("body").str.extract_all(r"#\w+").alias("tag")).explode("tag", empty_as_null=True).drop_nulls()
            .select(pl.col("tag").str.to_lowercase().str.strip_chars("#")).unique().sort("tag"))
    files["Topics.csv"] = _csv(tags.with_row_index("n").select(
        (pl.lit(30_000_000) + pl.col("n")).cast(pl.Utf8).alias("id"), pl.col("tag").alias("name"),
        (pl.lit(f"{API}/topics/") + (pl.lit(30_000_000) + pl.col("n")).cast(pl.Utf8)).alias("api_url")))
    uploads = msgs.filter(pl.col("kind") == "upload")
    names = pl.col("file_index").replace_strict({i: f[0] for i, f in enumerate(FILE_NAMES)}, return_dtype=pl.Utf8)
    files["Files.csv"] = _csv(uploads.with_columns(name=names).select(
        pl.col("file_id"), pl.col("sender_id").alias("uploader_id"), pl.lit("user").alias("uploader_type"),
        pl.col("name"), pl.lit("").alias("description"),
        ("files/" + pl.col("file_id") + "-" + pl.col("name")).alias("path"),
        pl.col("group_id"), pl.col("group_name"), pl.col("created_at"), pl.col("deleted_at"),
    ))
    path = out_dir / "platforms" / "viva_engage" / f"export-{tl.start.isoformat()}-{tl.end.isoformat()}.zip"
    return write_zip(path, files, dt.datetime.combine(tl.end + dt.timedelta(days=1), dt.time(7, 30)))

