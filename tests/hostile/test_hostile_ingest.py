"""Hostile inputs through the ingest path (``pipelines.warehouse.write_batches``, what each ingest
asset runs): one source broken, the other sources still run.

A drop zone holds every registered connector's fixture. It is ingested once clean into a warehouse
inside the sandbox's data folder, then one source's input is made hostile and every connector is
ingested again, each on its own as the Dagster ingest assets are. The broken source must fail with
a typed error naming its file and leave its previous tables and rejects untouched (the write is one
transaction); every other source's raw tables and rejects must be exactly as in the clean run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.connectors import registered_connectors
from pipelines.warehouse import raw_table, write_batches
from tests.hostile.corpus import KNOWN_GAPS, LEDGER, fixture_root, names_the_file, sandbox
from tests.hostile.corpus import confined as confined_sandbox
from transforms.contracts import ContractError

pytestmark = pytest.mark.xdist_group("hostile")


def _break_slack(root: Path) -> Path:
    day = root / "platforms" / "slack" / "export" / "users.json"
    target = root / "platforms" / "slack" / "export.zip"
    shutil.rmtree(day.parent)
    import zipfile

    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("users.json", b"\0" * (24 << 20))  # a decompression bomb
    return target


def _break_hr_scim(root: Path) -> Path:
    path = root / "hr" / "scim_2026-01-05.json"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    return path


def _break_mattermost(root: Path) -> Path:
    path = root / "platforms" / "mattermost" / "export.jsonl"
    path.unlink()
    path.mkdir()
    return path


def _break_hr_csv(root: Path) -> Path:
    path = root / "hr" / "hr_2026-01-05.csv"
    path.write_bytes(path.read_bytes().replace(b",", b";"))
    return path


BREAKERS = {"slack": _break_slack, "hr_scim": _break_hr_scim, "mattermost": _break_mattermost,
            "hr_csv": _break_hr_csv}


def _state(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Every raw table's rows and every source's rejects, as comparable values."""
    state: dict[str, object] = {}
    for (name,) in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY 1"
    ).fetchall():
        state[name] = sorted(map(repr, con.execute(f"SELECT * EXCLUDE (source_file) FROM {name}").fetchall())) if (
            "source_file" in [c[0] for c in con.execute(f"DESCRIBE {name}").fetchall()]
        ) else sorted(map(repr, con.execute(f"SELECT * FROM {name}").fetchall()))
    for (source,) in con.execute("SELECT DISTINCT source FROM quality.rejects ORDER BY 1").fetchall():
        state[f"rejects.{source}"] = sorted(map(repr, con.execute(
            "SELECT contract, locator, reason FROM quality.rejects WHERE source = ?", [source]).fetchall()))
    return state


def _ingest_all(root: Path, warehouse: Path) -> dict[str, ContractError]:
    """Each connector ingested on its own, like the ingest assets; the typed errors by connector."""
    errors: dict[str, ContractError] = {}
    for name, connector in registered_connectors().items():
        con = duckdb.connect(str(warehouse))
        try:
            write_batches(con, name, connector.yields, connector.read_drop_zone(root))
        except ContractError as exc:
            errors[name] = exc
        finally:
            con.close()
    return errors


@pytest.mark.parametrize("broken", sorted(BREAKERS))
def test_one_broken_source_leaves_the_others_and_its_own_last_state(broken: str) -> None:
    if broken not in registered_connectors():
        pytest.skip(f"{broken} is not registered")
    with sandbox() as box:
        for name in registered_connectors():
            if fixture_root(name).is_dir():
                shutil.copytree(fixture_root(name), box.data, dirs_exist_ok=True)
        warehouse = box.data / "warehouse.duckdb"
        assert _ingest_all(box.data, warehouse) == {}
        with duckdb.connect(str(warehouse), read_only=True) as con:
            clean = _state(con)
        hostile = BREAKERS[broken](box.data)
        case = f"ingest:{broken}:one-source-broken"
        LEDGER.by_target["ingest"] += 1
        with confined_sandbox(box, case, allow=("data/warehouse.duckdb", "data/warehouse.duckdb.wal")):
            errors = _ingest_all(box.data, warehouse)
        # the broken source fails (and any other connector reading the same folder may, naming the file)
        assert broken in errors, f"{case}: errors {errors}"
        for error in errors.values():
            assert names_the_file(str(error), hostile), error
        LEDGER.outcomes["typed_error"] += 1
        with duckdb.connect(str(warehouse), read_only=True) as con:
            after = _state(con)
        changed = [k for k in clean if clean[k] != after.get(k) and not any(g in k for g in KNOWN_GAPS)]
        assert not changed, f"{case}: tables changed: {changed}"
        assert any(k.startswith(raw_table(broken, "")) for k in after), "the broken source's last tables are kept"
