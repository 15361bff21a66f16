"""Shared fixtures: a simulated organisation run end to end through the real CLI, built once per
test session (tests that use it are grouped on one xdist worker with ``xdist_group("e2e")``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
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


@pytest.fixture()
def simulated_warehouse_copy(simulated_run: SimulatedRun, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a copy of the simulated run's warehouse, for a test that changes it."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(simulated_run.warehouse, path)
    con = duckdb.connect(str(path))
    yield con
    con.close()


# ----- the hostile-input corpus's ledger (tests/hostile): added up over xdist workers ----------------


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist): name this session
        import uuid

        from tests.hostile.corpus import RUN_ENV

        os.environ[RUN_ENV] = uuid.uuid4().hex


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Workers save their ledgers; the controller adds them up into test-artifacts/hostile_cases.txt
    and fails the run if the whole corpus ran and fell short of issue 12's acceptance."""
    from tests.hostile.corpus import MIN_CASES, merge_parts, save_part

    worker = getattr(session.config, "workerinput", {}).get("workerid")
    save_part(worker or "main")
    if worker is not None:
        return
    total = merge_parts()
    if not total.tried:
        return
    path = total.write()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    whole = not session.config.getoption("keyword") and not session.config.getoption("markexpr")
    short = whole and total.tried < MIN_CASES
    bad = total.unhandled or total.rows_lost or total.outside_writes or short
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(f"hostile corpus ({path}): " + " ".join(total.summary().splitlines()[:7]))
        if bad:
            reporter.write_line(f"hostile corpus FAILED its acceptance (at least {MIN_CASES} cases, 0 unhandled, "
                                "0 rows lost, 0 files written outside)", red=True)
    if bad and session.exitstatus == 0:
        session.exitstatus = 1
