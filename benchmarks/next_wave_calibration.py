"""Benchmark: the next-wave ranking against the simulator's held-out wave, and the cost of the two
new marts on a warehouse.

For each of ``--seeds`` organisations (``--employees`` x ``--weeks``, the demo's size by default),
:func:`pipelines.simulator.next_wave_calibration.held_out_wave` fits the uptake model on wave 1 and
ranks wave 2 (see that module). Prints ``name=value`` lines:

- ``held_out.inside_stated_interval=k/n``: wave 2's AUC inside the stated 90% interval;
- ``held_out.agrees=k/n``: |held-out - stated| within both intervals (1.645 x root of the summed
  squared standard errors);
- ``held_out.mean_stated_auc``, ``held_out.mean_auc``, ``planted.mean_rank_correlation`` and
  ``planted.positive=k/n`` (Spearman of expected against planted uptake of wave 2's members);
- with ``--warehouse`` (a warehouse built by ``uptake run``), ``mart.<name>_seconds``: the time to
  compute ``marts.target_status`` and ``marts.next_wave_*`` once the inputs they share with the
  other marts (person_week, the Bass fit, community events) are loaded, as in a run.

    .venv/bin/python benchmarks/next_wave_calibration.py [--seeds 10] [--warehouse data/warehouse.duckdb]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

Z90 = 1.645


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=40)
    parser.add_argument("--warehouse", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    from pipelines.simulator.next_wave_calibration import held_out_wave

    t0 = time.perf_counter()
    runs = [held_out_wave(s, employees=args.employees, weeks=args.weeks)
            for s in range(args.first_seed, args.first_seed + args.seeds)]
    n = len(runs)
    inside = sum(r["cv_low"] <= r["held"] <= r["cv_high"] for r in runs)
    agrees = sum(abs(r["held"] - r["cv"]) <= Z90 * (((r["cv_high"] - r["cv_low"]) / (2 * Z90)) ** 2
                                                   + ((r["held_high"] - r["held_low"]) / (2 * Z90)) ** 2) ** 0.5
                 for r in runs)
    for r in runs:
        print(f"seed{r['seed']}.stated_auc={r['cv']:.3f} [{r['cv_low']:.3f}, {r['cv_high']:.3f}] "
              f"held_out_auc={r['held']:.3f} rank_correlation={r['rho']:.3f}")
    print(f"held_out.inside_stated_interval={inside}/{n}")
    print(f"held_out.agrees={agrees}/{n}")
    print(f"held_out.mean_stated_auc={sum(r['cv'] for r in runs) / n:.3f}")
    print(f"held_out.mean_auc={sum(r['held'] for r in runs) / n:.3f}")
    print(f"planted.mean_rank_correlation={sum(r['rho'] for r in runs) / n:.3f}")
    print(f"planted.positive={sum(r['rho'] > 0 for r in runs)}/{n}")
    print(f"calibration_seconds={time.perf_counter() - t0:.1f}")
    if args.warehouse is not None:
        import duckdb

        from transforms.marts import InputCache, load_registry

        registry = load_registry()
        with duckdb.connect(str(args.warehouse), read_only=True) as con:
            cache = InputCache()
            for shared in ("person_week", "bass_diffusion", "community_events", "kpi_values", "employee_keys"):
                cache.get(shared, con)
            for name in ("target_status", "next_wave"):
                t = time.perf_counter()
                cache.compute(registry[name], con)
                print(f"mart.{name}_seconds={time.perf_counter() - t:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
