"""Fixtures of the simulator tests: one small drop zone written to disk (with the in-memory world it
came from) and one demo-sized truth panel, each built once per session."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pipelines.simulator import simulate, simulate_truth_panel
from pipelines.simulator.world import SimulatedWorld, build_world

SMALL = {"employees": 400, "weeks": 16, "seed": 3}
START = dt.date(2026, 1, 5)


@dataclass(frozen=True)
class DropZone:
    path: Path
    world: SimulatedWorld
    truth: dict


@pytest.fixture(scope="session")
def drop_zone(tmp_path_factory: pytest.TempPathFactory) -> DropZone:
    import json

    out = tmp_path_factory.mktemp("sim") / "raw"
    simulate(out, **SMALL)
    world = build_world(SMALL["employees"], SMALL["weeks"], SMALL["seed"], START)
    return DropZone(path=out, world=world, truth=json.loads((out / "ground_truth.json").read_text()))


@pytest.fixture(scope="session")
def demo_panel() -> tuple[pl.DataFrame, dict]:
    """The default-sized organisation (2000 x 40), panel and truth only."""
    return simulate_truth_panel(2000, 40, 0)
