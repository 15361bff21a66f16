"""Benchmark: the perceived-value pieces on a simulated organisation: the pulse_survey connector on
the simulator's survey files, and the three perception marts' functions on the simulator's own
person-week panel (what a correct pipeline yields), with the peak resident memory.

    .venv/bin/python benchmarks/perception.py [--employees 2000] [--weeks 40] [--seed 11]

Prints ``name=value`` lines: answers read, CPU and wall-clock seconds per stage (on a shared
machine the CPU seconds are the comparable figure), and the planted vs estimated pilot effect and
activity link of the first question (a sanity line, not a test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from pipelines.connectors.pulse_survey import PulseSurveyConnector
from pipelines.simulator.survey_export import surveys_document, write_survey_files
from pipelines.simulator.world import build_ground_truth, build_world, truth_panel
from transforms.contracts.config import Surveys
from transforms.metrics.perception import perception_activity_link, perception_by_population
from transforms.pilot.perception import perception_pilot_effects


def person_week(panel: pl.DataFrame) -> pl.DataFrame:
    """The simulator's panel in the ``marts.person_week`` shape (eligible weeks only)."""
    years = (pl.col("week_start") - pl.col("hire_date")).dt.total_days() / 365.25
    return panel.filter(pl.col("eligible")).select(
        pl.col("employee_id").alias("person_key"), "week_start", "worker_type", "department", "site", "level",
        "is_manager", pl.when(years < 1).then(pl.lit("<1y")).otherwise(pl.lit("1y+")).alias("tenure_band"),
        pl.col("active").alias("is_active"), pl.col("engaged").alias("is_engaged"),
        pl.col("contributor").alias("is_contributor"), pl.col("actions_observed").alias("actions_total"),
        "pilot_cohort", "pilot_wave", pl.col("pilot_start").alias("pilot_start_week"),
        pl.when(pl.col("pilot_cohort").is_null()).then(None).when(pl.col("week_start") < pl.col("pilot_start"))
        .then(pl.lit("pre")).otherwise(pl.lit("during")).alias("pilot_status"), "pilot_support_level")


class Stage:
    """CPU and wall-clock seconds of a block, printed as ``<name>_cpu_seconds`` / ``<name>_wall_seconds``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> Stage:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        print(f"{self.name}_cpu_seconds={time.process_time() - self.cpu:.2f} "
              f"{self.name}_wall_seconds={time.perf_counter() - self.wall:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with Stage("simulate"):
        world = build_world(args.employees, args.weeks, args.seed)
        truth, _ = build_ground_truth(world)
        panel = person_week(truth_panel(world))
    with tempfile.TemporaryDirectory(prefix="uptake-bench-") as tmp:
        write_survey_files(world, Path(tmp))
        with Stage("connector"):
            batches = list(PulseSurveyConnector().read_drop_zone(Path(tmp)))
    answers_read = sum(b.frame.height for b in batches if b.table == "survey_responses")
    print(f"answers_read={answers_read}")
    emp = world.org.employee_id.astype(str)
    a = world.survey.answers
    week = pl.Series([world.timeline.monday(int(w)) for w in a["week"].to_list()], dtype=pl.Date)
    answers = a.select(pl.Series("person_key", emp[a["person"].to_numpy()]), pl.lit("collaboration-pulse")
                       .alias("survey_id"), "wave", "question_id", pl.col("answer").cast(pl.Int16)).with_columns(
        week.alias("responded_on"), week.alias("week_start"))
    surveys = Surveys.model_validate(surveys_document(world))
    with Stage("perception"):
        table = perception_by_population(answers, panel, surveys)
    with Stage("pilot_effect"):
        effects = perception_pilot_effects(answers, panel, surveys,
                                           window_end=dt.date.fromisoformat(truth["timeline"]["G_date"]))
    with Stage("link"):
        link = perception_activity_link(answers, panel, surveys)
    print(f"perception_rows={table.height} pilot_effect_rows={effects.height} link_rows={link.height}")
    aipw = effects.filter((pl.col("estimator") == "aipw") & (pl.col("cohort") == "wave-1")
                          & (pl.col("metric") == "saves_time")).row(0, named=True)
    planted = truth["perception"]["pilot"]["wave-1"]["questions"]["saves_time"]["att_expected"]
    print(f"saves_time_wave1_planted={planted:.3f} saves_time_wave1_aipw={aipw['estimate']:.3f} "
          f"ci=[{aipw['ci_low']:.3f},{aipw['ci_high']:.3f}]")
    slope = link.filter((pl.col("row_type") == "slope") & (pl.col("question_id") == "saves_time")).row(0, named=True)
    print(f"saves_time_link_planted={truth['perception']['activity_link']['saves_time']:.3f} "
          f"saves_time_link_slope={slope['slope']:.3f} ci=[{slope['ci_low']:.3f},{slope['ci_high']:.3f}]")
    scale = 1 if sys.platform == "darwin" else 1024
    print(f"peak_rss_mib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20:.0f}")


if __name__ == "__main__":
    main()
