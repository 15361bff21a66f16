"""Time and memory of each mart computed alone from a built warehouse (e.g. one kept by
``benchmarks/scale.py --keep``): where the peak of ``uptake run`` comes from, one mart at a time.

    ./dev.sh python benchmarks/mart_memory.py WAREHOUSE [marts.table ...]

The marts' shared inputs (person-week in Polars, the KPI feed...) are loaded once through one
:class:`~transforms.marts.InputCache`, as in a run; then each mart is computed and its own rise of
resident memory above what was resident before it (sampled every 20 ms) is printed as
``mart_<table>_s=... mart_<table>_rise_gib=...``. The warehouse is opened read-only and nothing is
written. Without tables: every mart computed from person-week.
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
from pathlib import Path

import duckdb

from transforms.marts import InputCache, load_registry, mart_of_table


def _resident_gib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 2**20
    return float("nan")


class _PeakSampler:
    """The highest resident memory seen since the last :meth:`reset`, sampled every 20 ms."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _resident_gib())
            self._stop.wait(0.02)

    def reset(self) -> float:
        self.peak = _resident_gib()
        return self.peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("tables", nargs="*", help="mart tables, e.g. marts.outcome_kpis (default: those that "
                        "read person-week)")
    args = parser.parse_args()
    tables = args.tables or sorted({spec.tables[0] for spec in load_registry().values() if "person_week" in spec.inputs})
    sampler = _PeakSampler()
    cache = InputCache()
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        for table in tables:
            spec = mart_of_table(table)
            for name in spec.inputs:
                cache.get(name, con)
            gc.collect()
            before = sampler.reset()
            started = time.perf_counter()
            frames = cache.compute(spec, con)
            seconds = time.perf_counter() - started
            rows = sum(f.height for f in frames.values())
            del frames
            name = table.removeprefix("marts.")
            print(f"mart_{name}_s={seconds:.1f} mart_{name}_rise_gib={sampler.peak - before:.2f} "
                  f"mart_{name}_resident_before_gib={before:.2f} mart_{name}_rows={rows}", flush=True)
    sampler.stop()


if __name__ == "__main__":
    main()
