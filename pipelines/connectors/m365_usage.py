"""Microsoft 365 usage reports (``platforms/m365_usage/*.csv``) -> ``activity_counts``.

These reports give per-user counters over a report period (7, 30, 90 or 180 days), not events.
Two reports are read, each recognised by its header (never by its file name, which changes with
the download date and language):

- **Teams user activity user detail** (has ``Team Chat Message Count`` or ``Private Chat Message
  Count``). Its column set grew from about 12 to 33 columns over the years; columns are mapped by
  header name (case and surrounding blanks ignored), never by position.
- **Viva Engage (Yammer) activity user detail** (has ``Posted Count``, ``Read Count`` or
  ``Liked Count``).

Every report needs ``Report Refresh Date``, ``User Principal Name`` and ``Report Period``; a CSV
with another header is quarantined whole (one reject, locator ``line 1``) and the other files go on.

Period: ``period_end`` = ``Report Refresh Date`` (the report covers the ``Report Period`` days up
to it, ``7`` or ``D7``), ``period_start`` = ``period_end`` - (``Report Period`` - 1) days.

Counters -> canonical actions (a row per account, period and action, zeros kept: "reported, no
activity" differs from "not in the report"):

- Teams ``post`` = ``Private Chat Message Count`` + channel posts, where channel posts are
  ``Post Messages`` when the report has that column (newer reports) and ``Team Chat Message
  Count`` otherwise (older reports, where it counts channel posts and replies together).
- Teams ``reply`` = ``Reply Messages`` (newer reports only; older ones cannot tell replies apart).
- ``Urgent Messages`` are a subset of the chat messages and are not added again.
- Meetings and calls (``Meeting Count``, ``Meetings Organized/Attended Count``, ``Call Count``,
  ``Audio/Video/Screen Share Duration``...) are **not mapped**: attending a meeting is not one of
  the collaboration actions of the vocabulary, and counting it as ``visit`` would make every
  meeting-goer "active" on the social platform. Their columns are ignored.
- Viva Engage ``Posted Count`` -> ``post``, ``Read Count`` -> ``read``, ``Liked Count`` -> ``react``.
- An empty counter cell counts as 0; a value that is not a whole number quarantines the row.
- ``Is Deleted`` / ``Deleted Date``: the activity happened, the row is kept.

``account_id`` and ``account_email`` are the lower-cased UPN (in most tenants the UPN is the work
email; identity resolution matches it against HR emails and aliases).

Concealed names: when the tenant's "display concealed user, group and site names in all reports"
setting is on, UPNs are replaced by a 32-character hexadecimal hash. Such rows (and any UPN
without ``@``) are quarantined with that reason: they cannot be joined to anyone.

Duplicates and overlaps: a (report, UPN, period) already read, in the same file or an earlier one
(files in name order), is quarantined. When both reports cover the same account and period, their
counts for the same action are added in :meth:`M365UsageConnector.read_drop_zone` (``source_file``
lists both files), so the ``activity_counts`` key stays unique. This holds the reports' counts in
memory, which is O(accounts x periods x actions), not O(events).

Other quarantined rows: an empty UPN, a refresh date that is not ``YYYY-MM-DD`` (or ``M/D/YYYY``),
before 2010 or more than one day after the time of reading, a report period that is not a whole
number of days.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import polars as pl

from pipelines.connectors.base import Batch, Connector, TableName
from pipelines.connectors.config_files import (
    DEFAULT_BATCH_ROWS,
    LINE_COLUMN,
    REASON_COLUMN,
    conform_rows,
    iter_csv_batches,
    join_text,
    line_locator,
    rejects_frame,
)
from transforms.contracts import ACTIVITY_COUNTS, REJECTS
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE

log = logging.getLogger(__name__)

SOURCE = "m365_usage"

REFRESH_DATE = "Report Refresh Date"
UPN = "User Principal Name"
REPORT_PERIOD = "Report Period"
COMMON_COLUMNS: tuple[str, ...] = (REFRESH_DATE, UPN, REPORT_PERIOD)

TEAM_CHAT = "Team Chat Message Count"
PRIVATE_CHAT = "Private Chat Message Count"
POST_MESSAGES = "Post Messages"
REPLY_MESSAGES = "Reply Messages"
TEAMS_COUNTERS: tuple[str, ...] = (TEAM_CHAT, PRIVATE_CHAT, POST_MESSAGES, REPLY_MESSAGES)

POSTED = "Posted Count"
READ = "Read Count"
LIKED = "Liked Count"
ENGAGE_COUNTERS: tuple[str, ...] = (POSTED, READ, LIKED)
ENGAGE_ACTIONS: dict[str, str] = {POSTED: "post", READ: "read", LIKED: "react"}

#: Reports older than this are not Microsoft 365 usage reports.
#: A concealed UPN: the hash Microsoft writes instead of the name.
CONCEALED_UPN_PATTERN = r"^[0-9A-Fa-f]{32}$"
DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%m/%d/%Y")

_KEY = ["account_id", "period_start", "period_end"]


@dataclass(frozen=True)
class ReportKind:
    """A recognised usage report: its name and the counter columns it holds."""

    name: str
    counters: tuple[str, ...]


TEAMS = ReportKind("teams_user_activity", TEAMS_COUNTERS)
VIVA_ENGAGE = ReportKind("viva_engage_activity", ENGAGE_COUNTERS)


def recognise_report(header: list[str]) -> ReportKind | None:
    """Which report a header belongs to (case and blanks ignored), or ``None``."""
    names = {h.strip().lower() for h in header}
    if {c.lower() for c in (TEAM_CHAT, PRIVATE_CHAT)} & names:
        return TEAMS
    if {c.lower() for c in ENGAGE_COUNTERS} & names:
        return VIVA_ENGAGE
    return None


def _canonical_names(header: list[str], kind: ReportKind) -> dict[str, str]:
    """Rename map from the file's headers to the documented spelling (only known columns)."""
    known = {c.lower(): c for c in (*COMMON_COLUMNS, *kind.counters)}
    return {h: known[h.strip().lower()] for h in header if h.strip().lower() in known and h != known[h.strip().lower()]}


def _parse_date(col: str) -> pl.Expr:
    value = pl.col(col).str.strip_chars()
    return pl.coalesce([value.str.to_date(f, strict=False) for f in DATE_FORMATS])


def _counter(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().replace("", "0").fill_null("0").cast(pl.Int64, strict=False)


class _SeenReportRows:
    """(report, account, period) keys already read, to quarantine repeated rows across files."""

    def __init__(self) -> None:
        self.keys = pl.DataFrame(
            schema={"__kind": pl.Utf8, "account_id": pl.Utf8, "period_start": pl.Date, "period_end": pl.Date}
        )

    def fresh(self, frame: pl.DataFrame) -> pl.Series:
        key = ["__kind", *_KEY]
        first = frame.select(pl.struct(key).is_first_distinct()).to_series()
        before = frame.select(key).join(
            self.keys.with_columns(pl.lit(True).alias("__seen")), on=key, how="left", maintain_order="left"
        )["__seen"].fill_null(False)
        mask = first & ~before
        self.keys = pl.concat([self.keys, frame.filter(mask).select(key)])
        return mask


class M365UsageConnector(Connector):
    """Microsoft 365 usage reports (Teams and Viva Engage user activity detail) -> activity counts."""

    name: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Microsoft 365 usage reports (Teams, Viva Engage user activity detail)"
    kind = "platform"
    yields: ClassVar[tuple[TableName, ...]] = ("activity_counts",)
    #: Teams reports also lack read and react, and older ones reply (see the module docstring).
    cannot_see: ClassVar[tuple[str, ...]] = ("visit", "share", "upload", "join")
    reads: ClassVar[str] = (
        "*.csv usage reports, recognised by header: Teams user activity user detail, "
        "Viva Engage activity user detail (per-user counters over D7/D30/D90/D180)"
    )

    def __init__(self, *, batch_rows: int = DEFAULT_BATCH_ROWS, now: dt.datetime | None = None) -> None:
        """``batch_rows`` bounds memory while reading; ``now`` is for tests."""
        self.batch_rows = batch_rows
        self._now = now

    def recognises(self, path: Path) -> bool:
        """Any ``.csv`` file: the report type is decided from its header when read."""
        return path.suffix.lower() == ".csv"  # a folder named like one is reported by read()

    def read(self, path: Path) -> Iterator[Batch]:
        counts, rejects = self._read_report(Path(path), _SeenReportRows())
        if rejects.height:
            yield Batch("rejects", rejects)
        if counts.height:
            yield Batch("activity_counts", _combine([counts]))

    def read_drop_zone(self, drop_zone: Path) -> Iterator[Batch]:
        """Every report in ``platforms/m365_usage/``; counts of the same account, period and action
        from different reports are added (see the module docstring)."""
        seen = _SeenReportRows()
        parts: list[pl.DataFrame] = []
        for path in self.inputs(drop_zone):
            counts, rejects = self._read_report(path, seen)
            if rejects.height:
                yield Batch("rejects", rejects)
            parts.append(counts)
        combined = _combine(parts)
        if combined.height:
            yield Batch("activity_counts", combined)

    def _read_report(self, path: Path, seen: _SeenReportRows) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``(long counts with the conformed columns, rejects)`` of one report file."""
        label = str(path)
        latest = ((self._now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=1)).date()
        counts: list[pl.DataFrame] = []
        rejects: list[pl.DataFrame] = []
        excerpt = join_text("upn=", pl.col(UPN).str.strip_chars())
        kind: ReportKind | None = None
        for batch in iter_csv_batches(path, label=label, batch_rows=self.batch_rows, what="a usage report"):
            if kind is None:
                header = [c for c in batch.columns if c != LINE_COLUMN]
                kind = recognise_report(header)
                if kind is None:
                    log.warning("%s: not a recognised usage report; quarantined", label)
                    return _empty_counts(), _file_reject(
                        label, "not a recognised usage report: expected the header of a Teams user activity "
                        "user detail or Viva Engage activity user detail report (e.g. 'Team Chat Message Count' "
                        "or 'Posted Count')",
                    )
                renames = _canonical_names(header, kind)
                missing = [c for c in COMMON_COLUMNS if c not in {renames.get(h, h) for h in header}]
                if missing:
                    return _empty_counts(), _file_reject(
                        label, f"missing column(s) {', '.join(missing)}; a {kind.name} report needs "
                        f"{', '.join(COMMON_COLUMNS)}",
                    )
                present = [c for c in kind.counters if c in {renames.get(h, h) for h in header}]
                log.info("%s: %s report, counters %s", label, kind.name, ", ".join(present))
            staged = batch.rename(renames)
            upn = pl.col(UPN).str.strip_chars().str.to_lowercase().replace("", None)
            refresh = _parse_date(REFRESH_DATE)
            period = pl.col(REPORT_PERIOD).str.strip_chars().str.strip_prefix("D").str.strip_prefix("d").cast(
                pl.Int32, strict=False
            )
            checks = [
                pl.when(upn.is_null()).then(pl.lit(f"{UPN}: required, found empty")),
                pl.when(upn.str.contains(CONCEALED_UPN_PATTERN)).then(
                    pl.lit(f"{UPN}: concealed (hashed) by the tenant's report privacy setting; it cannot be "
                           "matched to anyone: turn off 'Display concealed user, group, and site names in all "
                           "reports' in the Microsoft 365 admin center and download the report again")
                ).when(upn.is_not_null() & ~upn.str.contains("@")).then(
                    join_text(f"{UPN}: expected name@domain, found '", upn, "'")
                ),
                pl.when(refresh.is_null()).then(
                    join_text(f"{REFRESH_DATE}: expected a date YYYY-MM-DD, found '", pl.col(REFRESH_DATE), "'")
                ).when(refresh < EARLIEST_PLAUSIBLE).then(
                    join_text(f"{REFRESH_DATE}: ", pl.col(REFRESH_DATE), f" is before {EARLIEST_PLAUSIBLE}")
                ).when(refresh > latest).then(
                    join_text(f"{REFRESH_DATE}: ", pl.col(REFRESH_DATE),
                              " is in the future (more than one day after the time of reading)")
                ),
                pl.when(period.is_null() | (period < 1)).then(
                    join_text(f"{REPORT_PERIOD}: expected a number of days (7, 30, 90, 180), found '",
                              pl.col(REPORT_PERIOD), "'")
                ),
                *[
                    pl.when(_counter(c).is_null() | (_counter(c) < 0)).then(
                        join_text(f"{c}: expected a whole number, found '", pl.col(c), "'")
                    )
                    for c in present
                ],
            ]
            staged = staged.with_columns(
                pl.concat_str(checks, separator="; ", ignore_nulls=True).replace("", None).alias(REASON_COLUMN),
                upn.alias("account_id"),
                refresh.alias("period_end"),
                (refresh - pl.duration(days=period - 1)).alias("period_start"),
                pl.lit(kind.name).alias("__kind"),
            )
            bad = staged.filter(pl.col(REASON_COLUMN).is_not_null())
            good = staged.filter(pl.col(REASON_COLUMN).is_null())
            fresh = seen.fresh(good)
            repeated = good.filter(~fresh).with_columns(
                pl.lit("repeats a (report, User Principal Name, period) already read").alias(REASON_COLUMN)
            )
            good = good.filter(fresh)
            rejects += [
                rejects_frame(f, contract=ACTIVITY_COUNTS.name, file=label, source=SOURCE,
                              reason=pl.col(REASON_COLUMN), locator=line_locator(path.name), excerpt=excerpt)
                for f in (bad, repeated)
            ]
            wide = good.select(
                "account_id", "period_start", "period_end", LINE_COLUMN,
                *_action_columns(kind, present),
            )
            long = wide.unpivot(
                index=["account_id", "period_start", "period_end", LINE_COLUMN],
                variable_name="action", value_name="count",
            ).with_columns(
                pl.lit(SOURCE).alias("source"),
                pl.col("account_id").alias("account_email"),
                pl.lit(path.name).alias("source_file"),
            )
            conformed, bad_rows = conform_rows(long, ACTIVITY_COUNTS, file=label,
                                               locator=join_text(line_locator(path.name), " ", pl.col("action")),
                                               source=SOURCE)
            counts.append(conformed)
            rejects.append(bad_rows)
        frame = pl.concat(counts) if counts else _empty_counts()
        rejected = pl.concat([r.select(REJECTS.names).cast(REJECTS.schema) for r in rejects]) if rejects else (  # type: ignore[arg-type]
            pl.DataFrame(schema=REJECTS.schema)
        )
        log.info("%s: %d count row(s), %d row(s) quarantined", label, frame.height, rejected.height)
        return frame, rejected


def _action_columns(kind: ReportKind, present: list[str]) -> list[pl.Expr]:
    """The report's counters mapped to canonical actions (see the module docstring)."""
    zero = pl.lit(0, dtype=pl.Int64)
    if kind is TEAMS:
        channel_posts = _counter(POST_MESSAGES) if POST_MESSAGES in present else (
            _counter(TEAM_CHAT) if TEAM_CHAT in present else zero
        )
        chats = _counter(PRIVATE_CHAT) if PRIVATE_CHAT in present else zero
        columns = [(channel_posts + chats).alias("post")]
        if REPLY_MESSAGES in present:
            columns.append(_counter(REPLY_MESSAGES).alias("reply"))
        return columns
    return [_counter(c).alias(ENGAGE_ACTIONS[c]) for c in ENGAGE_COUNTERS if c in present]


def _combine(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per (account, period, action), counts of different reports added, in key order."""
    frames = [p for p in parts if p.height]
    if not frames:
        return _empty_counts()
    return (
        pl.concat(frames)
        .group_by("source", "account_id", "period_start", "period_end", "action", maintain_order=True)
        .agg(
            pl.col("account_email").first(),
            pl.col("count").sum(),
            pl.col("source_file").unique(maintain_order=True).sort().str.join(";"),
        )
        .select(ACTIVITY_COUNTS.names)
        .sort("period_end", "period_start", "account_id", "action")  # independent of batch sizes
    )


def _empty_counts() -> pl.DataFrame:
    return pl.DataFrame(schema=ACTIVITY_COUNTS.schema)


def _file_reject(label: str, reason: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"contract": [ACTIVITY_COUNTS.name], "file": [label], "locator": [f"{Path(label).name} line 1"],
         "reason": [reason],
         "source": [SOURCE], "excerpt": [None]},
        schema=REJECTS.schema,
    )


__all__ = ["M365UsageConnector", "ReportKind", "recognise_report"]
