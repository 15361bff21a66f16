"""Enterprise scale on one machine: the whole pipeline against its physical floor, a weekly
incremental run against a full one, and the report alone, on the same simulated organisation.

    ./dev.sh python benchmarks/scale.py --employees 100000 --weeks 52 --events-per-active-week 150

Prints one ``name=value`` line per phase, then the ratios:

- ``floor_s``: one DuckDB query aggregating the canonical events to account x week x tier counts,
  weeks in the organisation's time zone (the physical floor of the events layer);
- ``full_s``, ``full_peak_gib``: ``uptake run`` from the canonical drop zone to every mart, every
  blocking check, the report and the published snapshots, on a new warehouse;
- ``incremental_s``, ``incremental_peak_gib``: ``uptake run`` again after one more week of events,
  counters and one more HR extract are dropped in;
- ``report_s``: ``uptake report`` alone;
- ``ratio_full_floor``, ``ratio_incremental_full``.

Every phase runs in its own process (peak memory is its own: GNU time's maximum resident set). The
organisation is simulated once per parameter set into ``--data`` (``uptake simulate --canonical``,
one week more than ``--weeks``: that week is held back for the incremental phase) and reused.
Numbers on a shared machine are noisy: compare the ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
FLOOR_SQL = """
WITH ev AS (
    SELECT account_id, action, epoch_us(occurred_at) // 900000000 AS quarter
    FROM read_parquet({files})
),
quarters AS (
    SELECT quarter, CAST(date_trunc('week', CAST(timezone('{tz}', to_timestamp(quarter * 900)) AS DATE)) AS DATE)
        AS week_start
    FROM (SELECT DISTINCT quarter FROM ev)
)
SELECT count(*) AS groups, sum(n) AS events FROM (
    SELECT account_id, week_start,
        CASE WHEN action IN ('read', 'visit') THEN 'passive' WHEN action = 'react' THEN 'reaction'
             WHEN action = 'join' THEN 'membership' ELSE 'contribution' END AS tier,
        count(*) AS n
    FROM ev JOIN quarters USING (quarter) GROUP BY ALL
)
"""


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def simulate(data: Path, employees: int, weeks: int, events_per_active_week: float, seed: int,
             formats: str | None = None) -> Path:
    """The canonical drop zone for these parameters (simulated once), with the last week held back
    under ``<data>/held_back`` for the incremental phase; ``formats`` as ``uptake simulate --formats``."""
    key = f"e{employees}_w{weeks}_x{events_per_active_week:g}_s{seed}"
    if formats:
        key += "_" + re.sub(r"[^a-z0-9]+", "-", formats.lower())
    root = data / key
    raw = root / "raw"
    if (root / "ready").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    # the simulated history ends with the last complete week, so that no event lies in the future
    start = _monday(dt.date.today()) - dt.timedelta(weeks=weeks + 1)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipelines.cli", "simulate", "--out", str(raw), "--employees",
                    str(employees), "--weeks", str(weeks + 1), "--seed", str(seed), "--start", start.isoformat(),
                    "--canonical", "--events-per-active-week", str(events_per_active_week),
                    *(["--formats", formats] if formats else [])], check=True, cwd=REPO)
    print(f"simulate_s={time.perf_counter() - t:.1f}", flush=True)
    last = (start + dt.timedelta(weeks=weeks)).isoformat()
    held = root / "held_back"
    for path in raw.rglob(f"week={last}.parquet"):
        target = held / path.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    (root / "ready").write_text(json.dumps({"held_back_week": last}), encoding="utf-8")
    return root


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command in its own process; return (seconds, peak resident GiB)."""
    report = Path(tempfile.mkstemp(suffix=".time")[1])
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), *args], cwd=REPO, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{' '.join(args[:4])} ... failed with exit code {proc.returncode}")
    peak_kib = int(re.findall(r"\d+", report.read_text())[-1])
    report.unlink()
    return seconds, peak_kib / 2**20


def floor_seconds(raw: Path, time_zone: str) -> tuple[float, int]:
    files = sorted(str(p) for p in raw.glob("platforms/*/canonical/events/*.parquet"))
    listed = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    con = duckdb.connect()
    t = time.perf_counter()
    _, events = con.execute(FLOOR_SQL.format(files=listed, tz=time_zone)).fetchone()
    return time.perf_counter() - t, int(events)


def _print_slowest(phase: str, timings: Path, n: int) -> None:
    """The ``n`` slowest steps of a run (``uptake run --timings``), then the ``n`` steps that raised
    the process's peak resident memory most (by how much), as ``name=value`` lines."""
    if n <= 0 or not timings.is_file():
        return
    steps = json.loads(timings.read_text(encoding="utf-8"))
    for step, t in list(steps.items())[:n]:
        print(f"step_{phase}_{step}_s={t['seconds']:.1f}", flush=True)
    in_order = sorted((t["finished"], t["peak_gib_after"], step) for step, t in steps.items() if t["finished"] is not None)
    rises, before = [], 0.0
    for _, peak, step in in_order:
        rises.append((peak - before, step, peak))
        before = peak
    for rise, step, peak in sorted(rises, reverse=True)[:n]:
        if rise > 0.05:
            print(f"peak_rise_{phase}_{step}_gib={rise:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--events-per-active-week", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--data", type=Path, default=REPO / "data" / "benchmarks" / "scale",
                        help="where simulated organisations are kept between runs")
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument("--formats", default=None,
                        help="export formats of the simulated platforms, as uptake simulate --formats "
                             "(e.g. slack=zulip,mattermost=rocket_chat,teams=viva_insights)")
    parser.add_argument("--simulate-only", action="store_true", help="simulate the organisation into --data and stop")
    parser.add_argument("--keep", action="store_true",
                        help="keep the warehouse and the step timings (the folder is printed as work=...), and a copy "
                             "of the warehouse as the full run left it (after_full.duckdb), to replay the weekly run")
    parser.add_argument("--show-steps", type=int, default=8,
                        help="print the N slowest Dagster steps of each run as step_<phase>_<step>_s lines")
    args = parser.parse_args()

    root = simulate(args.data, args.employees, args.weeks, args.events_per_active_week, args.seed, args.formats)
    if args.simulate_only:
        return
    raw = root / "raw"
    for path in (root / "held_back").rglob("*.parquet"):  # left in raw/ by an interrupted incremental phase
        (raw / path.relative_to(root / "held_back")).unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix="uptake-scale-"))
    warehouse = work / "warehouse.duckdb"
    env = {**os.environ, "UPTAKE_SECRET_FILE": str(work / "pseudonym.key"), "UPTAKE_PROGRESS": "0"}
    env.pop("DAGSTER_HOME", None)
    (work / "pseudonym.key").write_text("0" * 64, encoding="ascii")
    settings = (raw / "settings.yaml").read_text(encoding="utf-8")
    tz = re.search(r"^time_zone:\s*(\S+)", settings, re.M).group(1)

    cli = [sys.executable, "-m", "pipelines.cli"]
    floor, events = floor_seconds(raw, tz)
    print(f"employees={args.employees} weeks={args.weeks} events_per_active_week={args.events_per_active_week:g} "
          f"events={events}", flush=True)
    print(f"floor_s={floor:.1f}", flush=True)
    full, full_peak = timed([*cli, "run", "--raw", str(raw), "--warehouse", str(warehouse),
                             "--timings", str(work / "full_steps.json")], env)
    print(f"full_s={full:.1f} full_peak_gib={full_peak:.2f}", flush=True)
    _print_slowest("full", work / "full_steps.json", args.show_steps)
    incremental = incremental_peak = None
    if args.keep:
        shutil.copy2(warehouse, work / "after_full.duckdb")
    if not args.skip_incremental:
        held = root / "held_back"
        moved = []
        for path in held.rglob("*.parquet"):
            target = raw / path.relative_to(held)
            shutil.copy2(path, target)
            moved.append(target)
        try:
            incremental, incremental_peak = timed([*cli, "run", "--raw", str(raw), "--warehouse", str(warehouse),
                                                   "--timings", str(work / "incremental_steps.json")], env)
        finally:
            for target in moved:
                target.unlink()
        print(f"incremental_s={incremental:.1f} incremental_peak_gib={incremental_peak:.2f}", flush=True)
        _print_slowest("incremental", work / "incremental_steps.json", args.show_steps)
    report, _ = timed([*cli, "report", "--warehouse", str(warehouse), "--out", str(work / "report.html")], env)
    print(f"report_s={report:.1f}", flush=True)
    ratio_inc = f"{incremental / full:.3f}" if incremental is not None else "n/a"
    print(f"ratio_full_floor={full / floor:.2f} ratio_incremental_full={ratio_inc}", flush=True)
    if args.keep:
        print(f"work={work}", flush=True)
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
