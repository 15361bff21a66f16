"""Missing-export-day rule on simulated organisations: false alarms and detection.

For each seed, a simulated drop zone (``pipelines.simulator``) goes through the real platform
connectors and the clean layer (``transforms.clean_events``); then the ``missing_export_days``
rule (:func:`quality.anomalies.export_day_gaps`) runs

- on the data as written (no day is missing): every flagged source-day is a false alarm;
- with one interior working day removed per source (a planted missing export day): detection.

Both the rule in use (negative binomial calibrated on the source's and the weekday's
over-dispersion; an empty day a plain count unless a neighbouring week of that weekday was quiet)
and the plain Poisson rule are measured on the same data. Figures are printed as ``name=value``::

    .venv/bin/python benchmarks/missing_export_days.py                     # 5 seeds, 800 x 30
    .venv/bin/python benchmarks/missing_export_days.py --seeds 2 --employees 300 --weeks 16

``false_alarm_rate`` = flagged source-days / working source-days judged (interior, typical > 0).
The real Slack and Mattermost samples of ``../shared/realdata`` (when present) are judged too: no
missing day is known there, so every flag is a false alarm.
``detection_rate`` = planted missing days flagged / planted, also per band of the weekday's
typical volume. Exit status 1 when the rule in use raises any false alarm or misses a planted day
whose typical volume is 25 or more.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.connectors import registered_connectors  # noqa: E402
from pipelines.simulator import simulate  # noqa: E402
from pipelines.warehouse import write_batches  # noqa: E402
from quality.anomalies import daily_event_volumes, export_day_gaps  # noqa: E402
from transforms.clean_events import build_clean_events  # noqa: E402
from transforms.contracts.config import Settings  # noqa: E402

TIME_ZONE = "Europe/Paris"
#: Detection is reported for planted days whose weekday's typical volume is at least each of these.
VOLUME_BANDS = (12, 25, 40)
#: A planted missing day is expected to be found when its weekday's typical volume is at least this.
DETECTABLE_VOLUME = 25


def clean_events_of(raw: Path, con: duckdb.DuckDBPyConnection) -> list[str]:
    """Ingest ``raw`` with every platform connector and build clean.events; return the sources."""
    sources = []
    for name, connector in registered_connectors().items():
        if connector.kind != "platform" or "events" not in connector.yields:
            continue
        write_batches(con, name, connector.yields, connector.read_drop_zone(raw))
        sources.append(name)
    build_clean_events(con, sources, SETTINGS)
    return sources


SETTINGS = Settings(organisation="Bench", time_zone=TIME_ZONE, platform_launch=dt.date(2026, 1, 5))


def poisson_only(volumes: pl.DataFrame) -> pl.DataFrame:
    """The former rule: Poisson at the weekday median, whatever the source's burstiness."""
    return export_day_gaps(volumes, overdispersion=False)


def judged_days(volumes: pl.DataFrame) -> pl.DataFrame:
    return volumes.filter(
        (pl.col("weekday") <= 5) & (pl.col("day") > pl.col("first_day")) & (pl.col("day") < pl.col("last_day"))
        & (pl.col("typical") > 0)
    )


def plant_missing_days(
    con: duckdb.DuckDBPyConnection, volumes: pl.DataFrame, rng: np.random.Generator | None
) -> pl.DataFrame:
    """Delete every event of one judged working day per source (a random one, or with ``rng``
    None the one with the highest typical volume); return the planted days."""
    planted = []
    for source, days in judged_days(volumes).group_by("source", maintain_order=True):
        pick = int(rng.integers(days.height)) if rng is not None else int(days["typical"].arg_max())
        row = days.row(pick, named=True)
        planted.append(row)
        con.execute(
            f"DELETE FROM raw.{source[0]}_events WHERE timezone(?, occurred_at)::DATE = ?",
            [TIME_ZONE, row["day"]],
        )
    if planted:  # the clean layer rebuilt over the raw rows, as a run would
        build_clean_events(con, sorted(volumes["source"].unique()), SETTINGS)
    return pl.DataFrame(planted, schema=volumes.schema) if planted else volumes.clear()


def run_seed(seed: int, employees: int, weeks: int, workdir: Path, *, busiest: bool = False) -> dict[str, int]:
    """The figures of one simulated organisation; ``busiest`` plants the missing day on each
    source's busiest weekday-in-context instead of a random one."""
    raw = workdir / f"raw_{seed}"
    simulate(raw, employees=employees, weeks=weeks, seed=seed, progress=None)
    con = duckdb.connect(str(workdir / f"wh_{seed}.duckdb"))
    try:
        clean_events_of(raw, con)
        volumes = daily_event_volumes(con, time_zone=TIME_ZONE)
        judged = judged_days(volumes).height
        alarms = export_day_gaps(volumes)
        alarms_poisson = poisson_only(volumes)
        planted = plant_missing_days(con, volumes, None if busiest else np.random.default_rng(seed))
        after = daily_event_volumes(con, time_zone=TIME_ZONE)
        found = export_day_gaps(after).join(planted.select("source", "day"), on=["source", "day"], how="semi")
        found_poisson = poisson_only(after).join(planted.select("source", "day"), on=["source", "day"], how="semi")
    finally:
        con.close()
    figures = {
        "judged_days": judged, "false_alarms": alarms.height, "false_alarms_poisson": alarms_poisson.height,
        "planted": planted.height, "detected": found.height, "detected_poisson": found_poisson.height,
    }
    for band in VOLUME_BANDS:
        in_band = planted.filter(pl.col("typical") >= band).select("source", "day")
        figures[f"planted_ge_{band}"] = in_band.height
        figures[f"detected_ge_{band}"] = found.join(in_band, on=["source", "day"], how="semi").height
    return figures


def real_sample_alarms(workdir: Path) -> dict[str, int] | None:
    """Flagged days on the real Slack and Mattermost samples of ``../shared/realdata`` (bursty
    communities with no known missing day), with the rule in use and the Poisson-only rule."""
    real = REPO.parent / "shared" / "realdata"
    if not real.is_dir():
        return None
    raw = workdir / "real"
    for platform, sample in (("slack", real / "slack"), ("mattermost", real / "mattermost" / "mm5_bulk_export")):
        target = raw / "platforms" / platform
        target.mkdir(parents=True)
        for f in sample.iterdir():
            if f.is_file():
                (target / f.name).write_bytes(f.read_bytes())
    con = duckdb.connect(str(workdir / "real.duckdb"))
    try:
        clean_events_of(raw, con)
        volumes = daily_event_volumes(con, time_zone=TIME_ZONE)
        return {"judged_days": judged_days(volumes).height, "alarms": export_day_gaps(volumes).height,
                "alarms_poisson": poisson_only(volumes).height}
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--employees", type=int, default=800)
    parser.add_argument("--weeks", type=int, default=30)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    totals: dict[str, int] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="uptake-bench-gaps-") as tmp:
        for seed in range(args.seeds):
            for key, value in run_seed(seed, args.employees, args.weeks, Path(tmp)).items():
                totals[key] = totals.get(key, 0) + value
    judged = max(totals["judged_days"], 1)
    planted = max(totals["planted"], 1)
    print(f"seeds={args.seeds}")
    print(f"employees={args.employees}")
    print(f"weeks={args.weeks}")
    print(f"judged_source_days={totals['judged_days']}")
    print(f"false_alarms={totals['false_alarms']}")
    print(f"false_alarm_rate={totals['false_alarms'] / judged:.5f}")
    print(f"false_alarms_poisson_rule={totals['false_alarms_poisson']}")
    print(f"false_alarm_rate_poisson_rule={totals['false_alarms_poisson'] / judged:.5f}")
    print(f"planted_missing_days={totals['planted']}")
    print(f"detection_rate={totals['detected'] / planted:.3f}")
    print(f"detection_rate_poisson_rule={totals['detected_poisson'] / planted:.3f}")
    for band in VOLUME_BANDS:
        print(f"planted_typical_ge_{band}={totals[f'planted_ge_{band}']}")
        print(f"detected_typical_ge_{band}={totals[f'detected_ge_{band}']}")
    with tempfile.TemporaryDirectory(prefix="uptake-bench-gaps-real-") as tmp:
        real = real_sample_alarms(Path(tmp))
    if real is not None:
        print(f"real_samples_judged_source_days={real['judged_days']}")
        print(f"real_samples_alarms={real['alarms']}")
        print(f"real_samples_alarms_poisson_rule={real['alarms_poisson']}")
    print(f"seconds={time.perf_counter() - started:.1f}")
    ok = (totals["false_alarms"] == 0
          and totals[f"detected_ge_{DETECTABLE_VOLUME}"] == totals[f"planted_ge_{DETECTABLE_VOLUME}"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
