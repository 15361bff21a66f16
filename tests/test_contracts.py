"""The canonical contracts: casting, quarantine, forbidden text columns, DDL, config models."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest
from pydantic import ValidationError

from transforms.contracts import (
    ACTION_TIERS,
    CONTRACTS,
    EVENTS,
    KPI_VALUES,
    REJECTS,
    ContractError,
    Tier,
    conform,
    empty_frame,
    tier_of,
)
from transforms.contracts.actions import action_tier_sql_case
from transforms.contracts.config import Charters, KpiRegistry, Pilots, Settings


def _events(**overrides: list) -> pl.DataFrame:
    base = {
        "source": ["slack", "slack", "slack"],
        "event_id": ["C1:1.000001", "C1:1.000002", "C1:1.000003"],
        "occurred_at": [dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)] * 3,
        "account_id": ["U1", "U2", "U3"],
        "action": ["post", "reply", "react"],
        "is_automated": [False, False, True],
    }
    base.update(overrides)
    return pl.DataFrame(base)


def test_conform_keeps_good_rows_and_casts_to_contract_schema() -> None:
    good, rejects = conform(_events(), EVENTS, file="export.zip")
    assert good.schema == EVENTS.schema
    assert good.height == 3 and rejects.height == 0
    assert good["account_email"].null_count() == 3


def test_conform_quarantines_bad_rows_with_reasons_and_locators() -> None:
    frame = _events(action=["post", "shout", "react"], account_id=["U1", None, "U3"])
    good, rejects = conform(frame, EVENTS, file="general/2026-03-02.json")
    assert good["event_id"].to_list() == ["C1:1.000001", "C1:1.000003"]
    assert rejects.schema == REJECTS.schema
    assert rejects.height == 1
    row = rejects.row(0, named=True)
    assert row["file"] == "general/2026-03-02.json"
    assert row["locator"] == "row 2"
    assert "account_id: required" in row["reason"] and "action: expected one of" in row["reason"]


def test_conform_does_not_mutate_the_callers_frame() -> None:
    frame = _events()
    before = frame.clone()
    conform(frame, EVENTS)
    assert frame.equals(before)


def test_missing_required_column_is_a_contract_error_naming_it() -> None:
    with pytest.raises(ContractError, match=r"users\.csv: missing required column\(s\) account_id"):
        conform(_events().drop("account_id"), EVENTS, file="users.csv")


def test_text_columns_are_refused() -> None:
    with pytest.raises(ContractError, match="must not carry text"):
        conform(_events(text=["a", "b", "c"]), EVENTS)


def test_every_contract_creates_a_duckdb_table_with_its_columns() -> None:
    con = duckdb.connect()
    for name, contract in CONTRACTS.items():
        con.execute(contract.duckdb_ddl(f"t_{name}"))
        cols = [r[0] for r in con.execute(f"DESCRIBE t_{name}").fetchall()]
        assert cols == contract.names
        con.register("e", empty_frame(contract).to_arrow())
        con.execute(f"INSERT INTO t_{name} SELECT * FROM e")
        con.unregister("e")


def test_action_tiers() -> None:
    assert tier_of("react") is Tier.REACTION
    assert {a.value for a, t in ACTION_TIERS.items() if t is Tier.CONTRIBUTION} == {"post", "reply", "share", "upload"}
    with pytest.raises(ValueError, match="unknown action 'like'"):
        tier_of("like")
    con = duckdb.connect()
    case = action_tier_sql_case("'read'")
    assert con.execute(f"SELECT {case}").fetchone()[0] == "passive"


@pytest.mark.parametrize("contract", list(CONTRACTS.values()), ids=list(CONTRACTS))
def test_each_contracts_duckdb_table_reads_back_with_the_contracts_polars_types(contract) -> None:
    """The DDL a contract generates and its Polars schema describe the same table: an empty table
    created from the DDL comes back into Polars with exactly the contract's types."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # timestamps come back in the session's zone
    con.execute(contract.duckdb_ddl("t"))
    assert con.execute("SELECT * FROM t").pl().schema == contract.schema


def test_kpi_unit_type_is_a_closed_vocabulary() -> None:
    frame = pl.DataFrame({"kpi": ["k"], "unit_type": ["planet"], "unit_id": ["x"],
                          "period_start": [dt.date(2026, 1, 5)], "period_end": [dt.date(2026, 1, 11)], "value": [1.0]})
    good, rejects = conform(frame, KPI_VALUES)
    assert good.height == 0 and "unit_type: expected one of employee, team, site" in rejects["reason"][0]


def test_settings_validation_names_the_field() -> None:
    ok = Settings(organisation="X", time_zone="Europe/Paris", platform_launch=dt.date(2026, 1, 5))
    assert ok.min_group_size == 5 and ok.identity_rules[0].account_field == "employee_number"
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        Settings(organisation="X", time_zone="Mars/Olympus", platform_launch=dt.date(2026, 1, 5))
    with pytest.raises(ValidationError, match="min_group_size"):
        Settings(organisation="X", platform_launch=dt.date(2026, 1, 5), min_group_size=1)


def test_pilot_cohorts_need_members_and_unique_names() -> None:
    with pytest.raises(ValidationError, match="neither employee_ids nor selectors"):
        Pilots(cohorts=[{"name": "w1", "wave": 1, "start": "2026-03-02"}])
    with pytest.raises(ValidationError, match="duplicate cohort name"):
        Pilots(cohorts=[{"name": "w1", "wave": 1, "start": "2026-03-02", "employee_ids": ["E1"]}] * 2)
    with pytest.raises(ValidationError, match="ends"):
        Pilots(cohorts=[{"name": "w1", "wave": 1, "start": "2026-03-02", "end": "2026-01-01", "employee_ids": ["E1"]}])


def test_registry_and_charters() -> None:
    reg = KpiRegistry(kpis=[{"name": "frt", "description": "d", "unit": "hours", "unit_type": "team",
                             "direction": "lower_is_better", "source": "desk"}])
    assert reg.get("frt").direction == "lower_is_better"
    with pytest.raises(KeyError, match="not in the registry"):
        reg.get("nps")
    with pytest.raises(ValidationError, match="needs 'tag'"):
        Charters(communities=[{"name": "c", "spaces": [], "purpose": "p", "output_type": "idea",
                               "rule": {"kind": "hashtag"}}])


def test_every_settings_key_is_documented_with_its_default() -> None:
    """docs/drop_zone.md's settings table names every key of ``Settings``, and says which are required."""
    import re
    from pathlib import Path

    from transforms.contracts.config import Settings

    doc = (Path(__file__).parents[1] / "docs" / "drop_zone.md").read_text(encoding="utf-8")
    table = doc.split("## settings.yaml", 1)[1].split("Every key:", 1)[0]
    rows = {key: line for line in table.splitlines() if line.startswith("| `")
            for key in re.findall(r"`([a-z_]+)`", line.split("|")[1])}
    assert sorted(set(Settings.model_fields) - set(rows)) == []
    for key, field in Settings.model_fields.items():
        assert ("**required**" in rows[key]) == field.is_required(), key
