"""Benchmark: staggered DiD (Callaway & Sant'Anna, not-yet-treated controls) on a person-week
panel of 100,000 employees x 52 weeks with 3 pilot waves, through ``transforms.pilot.staggered_did``.

The panel is generated with numpy: a persistent personal activity level (pilot members were picked
among the more active), a common trend, and an additive intent-to-treat effect ``TAU`` on the weekly
active probability from each wave's start. The estimation runs at the person level on all
5.2 million person-weeks (no aggregation). Prints seconds per stage and the peak resident memory.

    .venv/bin/python benchmarks/pilot_staggered.py [--employees 100000] [--weeks 52] [--seed 0]

Targets: under 60 s and under 6 GiB peak on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time

import numpy as np
import polars as pl

TAU = 0.08
WAVES = {12: 0.05, 20: 0.07, 28: 0.08}  # start week -> share of employees in the wave


def make_panel(employees: int, weeks: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    level = np.clip(rng.beta(2, 5, employees), 0.01, 0.85)
    # selection: the more active are more likely to be picked for a wave
    u = rng.random(employees) * (1.5 - level)
    first = np.zeros(employees, dtype=np.int32)
    cut = 0.0
    for start, share in WAVES.items():
        pick = (u >= cut) & (u < cut + share)
        first[pick] = start
        cut += share
    week = np.arange(weeks, dtype=np.int32)
    trend = 0.001 * week
    treated = (first[:, None] > 0) & (week[None, :] >= first[:, None])
    p = level[:, None] + trend[None, :] + TAU * treated
    active = rng.random((employees, weeks), dtype=np.float32) < p
    monday = dt.date(2026, 1, 5)
    dates = np.datetime64(monday) + 7 * week.astype("timedelta64[D]")
    starts = np.where(first > 0, np.datetime64(monday) + 7 * first.astype("timedelta64[D]"), np.datetime64("NaT"))
    return pl.DataFrame(
        {
            "person_key": np.repeat(np.arange(employees, dtype=np.int32), weeks),
            "week_start": np.tile(dates, employees),
            "pilot_start_week": np.repeat(starts, weeks),
            "is_active": active.ravel(),
        }
    )


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    panel = make_panel(args.employees, args.weeks, args.seed)
    t_import = time.perf_counter()
    import diff_diff  # noqa: F401 - imported here so its cost is reported apart

    from transforms.pilot import staggered_did

    t1 = time.perf_counter()
    result = staggered_did(
        panel, unit="person_key", time="week_start", first_treat="pilot_start_week", outcome="is_active"
    )
    t2 = time.perf_counter()

    print(f"panel: {args.employees:,} employees x {args.weeks} weeks = {panel.height:,} person-weeks, "
          f"{result.n_treated_units:,} in {len(WAVES)} waves")
    print(f"generate: {t_import - t0:.1f} s")
    print(f"imports (transforms.pilot, diff_diff, scikit-learn, scipy): {t1 - t_import:.1f} s")
    print(f"staggered DiD (person level, fit + 3 aggregations): {t2 - t1:.1f} s")
    print(f"total: {t2 - t0:.1f} s")
    print(f"peak RSS: {peak_rss_gib():.2f} GiB")
    o, d = result.overall, result.dynamic
    print(f"overall ATT {o.estimate:.4f} [{o.ci_low:.4f}, {o.ci_high:.4f}] (planted {TAU}); "
          f"dynamic {d.estimate:.4f}; pre-trend drift {result.pre_trend.drift:+.4f} over "
          f"{result.pre_trend.weeks} pre-periods, p = {result.pre_trend.p_value:.3f}")
    ok = (t2 - t0) < 60 and peak_rss_gib() < 6 and o.ci_low <= TAU <= o.ci_high
    print("within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
