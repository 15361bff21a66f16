"""Shared fixtures: a simulated organisation run end to end through the real CLI, built once per
test session (tests that use it are grouped on one xdist worker with ``xdist_group("e2e")``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

#: The organisation every end-to-end truth test reads: demo-sized, so that the planted effects are
#: recoverable with the precision the acceptance criteria ask for.
E2E_EMPLOYEES = int(os.environ.get("UPTAKE_E2E_EMPLOYEES", "2000"))
E2E_WEEKS = int(os.environ.get("UPTAKE_E2E_WEEKS", "40"))
E2E_SEED = 11
#: The pseudonym secret of every test run (64 hex characters, as a new installation's).
TEST_SECRET = "0" * 64


@dataclass(frozen=True)
class SimulatedRun:
    raw: Path
    warehouse: Path
    reports: Path
    truth: dict
    stdout: str

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), read_only=True)


def uptake_cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the ``uptake`` command line as a user would (a fresh process)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, env=full_env, cwd=REPO
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"uptake {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixed test secret, so that person keys (and the stored mart fingerprints) are the same on
    every machine. Real installations get a random one (``pipelines.resources``)."""
    path = tmp_path_factory.mktemp("secret") / "pseudonym.key"
    path.write_text(TEST_SECRET, encoding="ascii")
    os.environ["UPTAKE_SECRET_FILE"] = str(path)
    return path


@pytest.fixture(scope="session")
def simulated_run(tmp_path_factory: pytest.TempPathFactory, secret_file: Path) -> SimulatedRun:
    base = tmp_path_factory.mktemp("e2e")
    raw, warehouse, reports = base / "raw", base / "warehouse.duckdb", base / "reports"
    uptake_cli("simulate", "--out", str(raw), "--employees", str(E2E_EMPLOYEES), "--weeks", str(E2E_WEEKS),
               "--seed", str(E2E_SEED))
    proc = uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), "--reports", str(reports),
                      env={"UPTAKE_SECRET_FILE": str(secret_file)})
    truth = json.loads((raw / "ground_truth.json").read_text())
    return SimulatedRun(raw=raw, warehouse=warehouse, reports=reports, truth=truth, stdout=proc.stdout)
