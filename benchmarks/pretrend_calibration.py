"""Benchmark: calibration of the pilot diagnostics and intervals over simulated organisations.

For each of ``--seeds`` organisations (``--employees`` x ``--weeks``, the demo's size by default)
the simulator's own panel goes through ``transforms.pilot.pilot_effects`` (activity: weekly active
rate, person level; outcome: first_response_hours, team level), twice:

- **null**: the default simulator, whose pilots are selected on activity *level* and whose trends
  are parallel by construction: the pre-trend test should reject in about 5% of organisations
  (at most 3 of 20) and the adjusted intervals should cover the planted ATT (at least 17 of 20);
- **planted**: the same organisations with a planted pre-trend
  (``pipelines.simulator.calibration.PLANTED_PRE_TREND``: pilot teams already taking the platform
  up on their own, and their KPI drifting): the pre-trend test should reject in at least 17 of 20.

Prints ``name=value`` lines: ``<condition>.pretrend_rejections.<metric>.<cohort>=k/n`` (did_cs, 5%
level), ``null.coverage.<metric>.<cohort>.<estimator>=k/n``, ``null.naive_misses.<metric>.<cohort>=k/n``,
the mean pre-period drift per condition, and the seconds taken.

    .venv/bin/python benchmarks/pretrend_calibration.py [--seeds 20] [--employees 2000] [--weeks 40]

Exit status 1 when an acceptance figure is missed (pooled cohort "all": null rejections > 3/20
scaled, planted < 17/20 scaled; coverage of ipw / aipw / matching / did_cs < 17/20 scaled, for the
activity metric and the team KPI, every cohort).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time

import polars as pl

ADJUSTED = ("ipw", "aipw", "matching", "did_cs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=40)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    from pipelines.simulator.calibration import PLANTED_PRE_TREND, calibrate

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    n = args.seeds
    t0 = time.perf_counter()
    null = calibrate(seeds, employees=args.employees, weeks=args.weeks)
    t1 = time.perf_counter()
    planted = calibrate(seeds, employees=args.employees, weeks=args.weeks, params=PLANTED_PRE_TREND,
                        estimators=("naive", "did_cs"))
    t2 = time.perf_counter()
    print(f"seeds={n}")
    print(f"organisation={args.employees}x{args.weeks}")
    ok = True
    for condition, runs in (("null", null), ("planted", planted)):
        did = runs.filter(pl.col("estimator") == "did_cs").sort("metric", "cohort")
        for (metric, cohort), part in did.group_by("metric", "cohort", maintain_order=True):
            k = int((part["pre_trend_p"] < 0.05).sum())
            print(f"{condition}.pretrend_rejections.{metric}.{cohort}={k}/{part.height}")
            print(f"{condition}.pretrend_drift_mean.{metric}.{cohort}={part['pre_trend_gap'].mean():+.4f}")
            if cohort == "all":
                ok &= k <= math.floor(3 * n / 20) if condition == "null" else k >= math.ceil(17 * n / 20)
    for (metric, cohort, estimator), part in null.sort("metric", "cohort", "estimator").group_by(
            "metric", "cohort", "estimator", maintain_order=True):
        k = int(part["covers"].sum())
        if estimator == "naive":
            print(f"null.naive_misses.{metric}.{cohort}={part.height - k}/{part.height}")
        else:
            print(f"null.coverage.{metric}.{cohort}.{estimator}={k}/{part.height}")
            if estimator in ADJUSTED:
                ok &= k >= math.ceil(17 * n / 20)
    for (metric, cohort), part in planted.filter(pl.col("estimator") == "did_cs").sort("metric", "cohort").group_by(
            "metric", "cohort", maintain_order=True):
        print(f"planted.coverage.{metric}.{cohort}.did_cs={int(part['covers'].sum())}/{part.height}")
    print(f"seconds_null={t1 - t0:.1f}")
    print(f"seconds_planted={t2 - t1:.1f}")
    print(f"within_targets={ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
