"""Helpers of the reliability tests (issue 12): small drop zones built from the simulator's Slack
export, exports rewritten as a user's folder holds them (split, copied, edited), and runs of the
whole job in this process with their mart fingerprints."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_SECRET
from tests.mart_fingerprints import mart_fingerprints

#: The drop-zone parts a Slack-only organisation keeps from a simulated one.
SLACK_ONLY_KEEP = ("settings.yaml", "hr", "platforms/slack")


@dataclass(frozen=True)
class Run:
    """A finished in-process run: its outcome and the fingerprint of every mart."""

    warehouse: Path
    problems: tuple[str, ...]
    fingerprints: dict[str, dict[str, object]]
    report: str | None


def run_job_here(raw: Path, warehouse: Path, **options: object) -> Run:
    """The whole job for ``raw`` into ``warehouse`` in this process (ephemeral Dagster instance, the
    fixed test pseudonym secret), and the fingerprints of the marts it left."""
    from pipelines.runner import execute_job

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    secret = warehouse.parent / "pseudonym.key"
    secret.write_text(TEST_SECRET, encoding="ascii")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DAGSTER_HOME", raising=False)
        mp.setenv("UPTAKE_SECRET_FILE", str(secret))
        outcome = execute_job(raw, warehouse, reports=warehouse.parent / "reports",
                              published=warehouse.parent / "published", **options)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        prints = mart_fingerprints(con)
    return Run(warehouse=warehouse, problems=outcome.problems, fingerprints=prints, report=outcome.report_path)


def differing_marts(a: dict[str, dict[str, object]], b: dict[str, dict[str, object]]) -> list[str]:
    """The marts whose fingerprints differ (or that only one side has)."""
    return sorted(t for t in set(a) | set(b) if a.get(t) != b.get(t))


def slack_only_zone(simulated: Path, raw: Path) -> Path:
    """A copy of the simulated drop zone ``simulated`` with only settings, HR and the Slack folder
    (no pilots, KPIs or charters: the fast path through the marts)."""
    for part in SLACK_ONLY_KEEP:
        src = simulated / part
        if src.is_dir():
            shutil.copytree(src, raw / part)
        else:
            raw.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, raw / part)
    return raw


# ----- Slack exports as members (name -> bytes) ------------------------------------------------------


def slack_zip(folder: Path) -> Path:
    (path,) = sorted(Path(folder, "platforms", "slack").glob("*.zip"))
    return path


def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_export(path: Path, members: dict[str, bytes], made: dt.datetime) -> Path:
    """A zip of ``members`` whose stored member times say it was made at ``made``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = (made.year, made.month, made.day, made.hour, made.minute, made.second)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            zf.writestr(zipfile.ZipInfo(name, date_time=stamp), members[name])
    os.utime(path, (made.timestamp(), made.timestamp()))
    return path


def day_of(member: str) -> str | None:
    """``YYYY-MM-DD`` of a day file (``<channel>/<day>.json``), else None."""
    parts = member.split("/")
    return parts[1][:10] if len(parts) == 2 and parts[1].endswith(".json") else None


def days_of(members: dict[str, bytes]) -> list[str]:
    return sorted({d for d in map(day_of, members) if d})


def between(members: dict[str, bytes], first: str, last: str) -> dict[str, bytes]:
    """The export of the days ``first`` to ``last`` (inclusive): their day files and the metadata."""
    return {n: b for n, b in members.items() if (d := day_of(n)) is None or first <= d <= last}


@dataclass(frozen=True)
class Rewrite:
    members: dict[str, bytes]
    edited: int
    deleted: int


def _is_plain_post(m: dict) -> bool:
    return m.get("subtype") is None and "thread_ts" not in m and "user" in m


def edit_and_delete(members: dict[str, bytes], *, first: str, last: str, every: int = 3) -> Rewrite:
    """A re-export after edits and deletions: in the day files strictly between ``first`` and
    ``last``, every ``every``-th plain post gets longer text with a hashtag and a question, and the
    plain post after it is deleted (posts outside threads only: a deleted thread parent would be a
    tombstone). A channel keeps at least two of its plain posts: a channel the re-export no longer
    holds at all keeps its older events (docs/drop_zone.md), which is not what is tested here."""
    plain: dict[str, int] = {}
    for name in members:
        if day_of(name):
            channel = name.split("/")[0]
            plain[channel] = plain.get(channel, 0) + sum(map(_is_plain_post, json.loads(members[name])))
    out, edited, deleted, seen = dict(members), 0, 0, 0
    removed: dict[str, int] = {}
    for name in sorted(members):
        day = day_of(name)
        if day is None or not first < day < last:
            continue
        channel = name.split("/")[0]
        keep = []
        for m in json.loads(members[name]):
            if _is_plain_post(m):
                seen += 1
                if seen % every == 0:
                    m = {**m, "text": m.get("text", "") + " -- edited later: shall we meet? #retro",
                         "edited": {"user": m["user"], "ts": m["ts"]}}
                    edited += 1
                elif seen % every == 1 and seen > 1 and plain[channel] - removed.get(channel, 0) > 2:
                    removed[channel] = removed.get(channel, 0) + 1
                    deleted += 1
                    continue
            keep.append(m)
        out[name] = json.dumps(keep).encode("utf-8")
    return Rewrite(out, edited, deleted)
