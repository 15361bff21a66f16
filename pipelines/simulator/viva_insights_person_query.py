"""Viva Insights person query (``uptake simulate --formats teams=viva_insights``): the simulated
Microsoft Teams activity written as the weekly person query CSV that Microsoft's ``vivainsights``
and ``wpa`` packages analyse, instead of the Teams usage reports.

``platforms/viva_insights/PersonQuery_<first MetricDate>_<last MetricDate>.csv``, laid out like
the query output (and ``vivainsights``' own ``pq_data.csv``): CRLF rows, every header and text
value quoted, numbers and ``MetricDate`` (``YYYY-MM-DD``) bare. One row per Teams-licensed
employee and week of employment (zeros when idle; guests are not measured):

- ``PersonId``: the person's user principal name, as in the usage reports (a query run with
  de-identification off: the only way a person query joins an HR directory held outside Viva
  Insights; the connector keeps it as the join key and matches it by UPN);
- ``MetricDate``: the Sunday that starts Viva Insights' week, the day before the simulated week's
  Monday (the connector puts that week in the ISO week of the Monday after);
- ``Channel_message_posts`` (the week's Teams channel messages) and ``Chats_sent`` (chat
  messages): the counters the usage report would show, the two columns the connector maps to
  ``post`` by default;
- ``Meetings``, ``Calls`` (the simulated calls and meetings, not actions) and the hour metrics
  derived from them, ``Emails_sent``, ``Emails_read``, ``Internal_network_size``: realistic
  filler the default mapping leaves out (the planted truth counts none of them);
- the HR attributes a tenant uploads: ``Organization`` (department), ``FunctionType`` (job
  family), ``Level`` (``Level<n>``), ``SupervisorIndicator``, ``LevelDesignation``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.simulator.organisation import DEPARTMENTS
from pipelines.simulator.platform_formats import format_rng
from pipelines.simulator.world import SimulatedWorld

METRIC_COLUMNS: tuple[str, ...] = (
    "Collaboration_hours", "Meeting_and_call_hours", "Internal_network_size", "Email_hours",
    "Channel_message_posts", "Meetings", "After_hours_collaboration_hours", "Call_hours", "Calls", "Chat_hours",
    "Emails_read", "Emails_sent", "Meeting_hours", "Chats_sent",
)
HR_COLUMNS: tuple[str, ...] = ("FunctionType", "SupervisorIndicator", "Level", "Organization", "LevelDesignation")
_QUOTED_DATE = re.compile(r'^("[^"\r\n]*"),"(\d{4}-\d{2}-\d{2})",', re.M)


def person_ids(users: pl.DataFrame) -> pl.Series:
    """The ``PersonId`` of tenant users (rows of ``world.m365``): their UPN as the reports carry it."""
    return users["upn"].alias("account_id")


def query_rows(world: SimulatedWorld) -> pl.DataFrame:
    """One row per Teams-licensed employee and week employed: ``person``, ``week``, ``PersonId``,
    ``MetricDate`` and every column of the query."""
    org, tl = world.org, world.timeline
    users = world.m365.filter(pl.col("teams") & (pl.col("person") >= 0))
    person = users["person"].to_numpy()
    ui, tt = np.nonzero(org.employed[person])
    pp = person[ui]
    rows = pl.DataFrame({"person": pp.astype(np.int64), "week": tt.astype(np.int64),
                         "PersonId": person_ids(users).gather(ui)})
    counts = world.events.teams_counts.pivot(on="counter", index=["person", "week"], values="count")
    for c in ("team_chat", "private_chat", "call", "meeting"):
        if c not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.UInt32).alias(c))
    rows = rows.join(counts.with_columns(pl.col("person", "week").cast(pl.Int64)), on=["person", "week"],
                     how="left", maintain_order="left").with_columns(
        pl.col("team_chat", "private_chat", "call", "meeting").fill_null(0).cast(pl.Int64))
    rng = format_rng(world, "viva_insights", 1)
    n = rows.height
    front = org.is_frontline[pp]
    meetings, calls = rows["meeting"].to_numpy(), rows["call"].to_numpy()
    chats = rows["team_chat"].to_numpy() + rows["private_chat"].to_numpy()
    emails_sent = rng.poisson(np.where(front, 2.0, 22.0))
    emails_read = emails_sent * 3 + rng.poisson(np.where(front, 8.0, 60.0))
    meeting_h = meetings * rng.uniform(0.5, 1.2, n)
    call_h = calls * rng.uniform(0.1, 0.6, n)
    email_h = emails_sent * 0.08 + emails_read * 0.02
    chat_h = chats * rng.uniform(0.01, 0.04, n)
    collab = meeting_h + call_h + email_h + chat_h
    level = org.level[pp]
    direct = org.direct_reports[pp, tt]
    department = np.asarray([d.name for d in DEPARTMENTS])[org.department[pp]]
    return rows.with_columns(
        MetricDate=pl.Series((np.asarray(tl.week_starts, dtype="datetime64[D]") - 1)[tt]),
        Collaboration_hours=pl.Series(collab), Meeting_and_call_hours=pl.Series(meeting_h + call_h),
        Internal_network_size=pl.Series(np.where(collab > 0, rng.poisson(np.where(front, 6.0, 24.0)), 0)),
        Email_hours=pl.Series(email_h), Channel_message_posts=pl.col("team_chat"), Meetings=pl.col("meeting"),
        After_hours_collaboration_hours=pl.Series(collab * rng.uniform(0.0, 0.15, n)),
        Call_hours=pl.Series(call_h), Calls=pl.col("call"), Chat_hours=pl.Series(chat_h),
        Emails_read=pl.Series(emails_read), Emails_sent=pl.Series(emails_sent), Meeting_hours=pl.Series(meeting_h),
        Chats_sent=pl.col("private_chat"),
        FunctionType=pl.Series(org.job_family[pp].astype(str)),
        SupervisorIndicator=pl.Series(np.where(direct >= 8, "Manager+", np.where(direct > 0, "Manager", "IC"))),
        Level=pl.Series(np.char.add("Level", level.astype(str))),
        Organization=pl.Series(department),
        LevelDesignation=pl.Series(np.select([level <= 2, level <= 4, level == 5],
                                             ["Executive", "Manager", "Senior IC"], "Junior IC")),
    ).sort("week", "PersonId")


def write_person_query(world: SimulatedWorld, out_dir: Path) -> Path:
    """Write the person query CSV (see the module docstring) and return its path."""
    rows = query_rows(world)
    first, last = rows["MetricDate"].min(), rows["MetricDate"].max()
    text = rows.select("PersonId", "MetricDate", *METRIC_COLUMNS, *HR_COLUMNS).write_csv(
        quote_style="non_numeric", line_terminator="\r\n")
    text = _QUOTED_DATE.sub(r"\1,\2,", text)
    path = out_dir / "platforms" / "viva_insights" / f"PersonQuery_{first}_{last}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path
