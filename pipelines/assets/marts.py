"""Marts layer: ``marts.person_week`` (built in DuckDB, week by week) and one asset per mart of the
registry (``transforms.marts``), generated from its declaration: the asset reads the mart's inputs
through the run's shared cache, calls the mart's one function and replaces its table. A mart whose
inputs have a fingerprint equal to the one stored at its last build is kept as it is
(``transforms.marts.memo``); a weekly mart is recomputed only from its first changed week
(``transforms.marts.week_window``). Marts hold pseudonymous person keys only."""

from dagster import AssetKey, AssetsDefinition, AssetSpec, MaterializeResult, MetadataValue, asset, multi_asset

from pipelines.assets.clean import CLEAN_EVENTS, HR_DIRECTORY
from pipelines.assets.identity import EVENTS_PSEUDONYMOUS, IDENTITY_MAP, PERSON_KEYS, SURVEY_RESPONSES
from pipelines.assets.ingest import CONFIG_KEY
from pipelines.resources import MartInputsResource, PseudonymSecretResource, WarehouseResource
from pipelines.spark import EngineResource
from transforms import eligibility
from transforms import person_week as person_week_sql
from transforms.marts import MartSpec, load_registry, memo, week_window
from transforms.warehouse import read_config, replace_table
from transforms.weeks import data_weeks

GROUP = "marts"
PERSON_WEEK = AssetKey(["marts", "person_week"])

#: The asset that writes each warehouse table a mart input reads (besides the marts themselves).
TABLE_ASSETS: dict[str, AssetKey] = {
    "raw.settings": CONFIG_KEY,
    "raw.kpi_values": CONFIG_KEY,
    "clean.events": CLEAN_EVENTS,
    "clean.person_keys": PERSON_KEYS,
    "clean.events_pseudonymous": EVENTS_PSEUDONYMOUS,
    "marts.person_week": PERSON_WEEK,
    "clean.survey_responses": SURVEY_RESPONSES,
}


def table_asset_key(table: str) -> AssetKey:
    """The asset key of a warehouse table: ``marts.adoption_curve`` -> ``marts/adoption_curve``."""
    return AssetKey(table.split("."))


@asset(
    key=PERSON_WEEK,
    group_name=GROUP,
    deps=[CONFIG_KEY, CLEAN_EVENTS, HR_DIRECTORY, IDENTITY_MAP],
    description="marts.person_week: one row per eligible employee per ISO week, zero-activity weeks "
    "included; HR attributes that week, actions per tier, pilot status. Pseudonymous keys. Only the weeks "
    "whose inputs changed are rebuilt.",
    kinds={"duckdb"},
)
def person_week(warehouse: WarehouseResource, pseudonym: PseudonymSecretResource,
                engine: EngineResource) -> MaterializeResult:
    recompute = engine.runner(warehouse.database).person_week() if engine.is_spark else None
    with warehouse.get_connection() as con:
        config = read_config(con)
        key = pseudonym.key()
        eligibility.build_employee_weeks(con, config.settings)
        built = eligibility.EMPLOYEE_WEEK_TABLE  # every week's, just built: not computed twice more
        if recompute is None:  # the weeks whose inputs changed, staged once
            weeks = person_week_sql.refresh_person_week(con, config.settings, config.pilots, key, employee_weeks=built)
        else:  # another engine rebuilds every week from the same queries
            weeks = data_weeks(con)
            person_week_sql.build_person_week(con, config.settings, config.pilots, key, weeks=weeks,
                                              recompute=recompute, employee_weeks=built)
        rows, people, n_weeks = con.execute(
            "SELECT count(*), count(DISTINCT person_key), count(DISTINCT week_start) FROM marts.person_week"
        ).fetchone()
    return MaterializeResult(
        metadata={"rows": int(rows), "people": int(people), "weeks": int(n_weeks), "weeks_rebuilt": len(weeks),
                  "engine": engine.name}
    )


def _deps(spec: MartSpec) -> list[AssetKey]:
    unknown = [t for t in spec.reads if t not in TABLE_ASSETS]
    if unknown:
        raise KeyError(f"mart {spec.name} reads {', '.join(unknown)}: no asset writes it (TABLE_ASSETS)")
    return sorted({TABLE_ASSETS[t] for t in spec.reads}, key=lambda k: k.to_user_string())


def _metadata(spec: MartSpec) -> dict[str, str]:
    return {"kind": spec.kind.value if spec.kind else "per row (metric_kind)", "grain": spec.grain,
            "read_by": ", ".join(sorted(spec.read_by))}


def _materialise(spec: MartSpec, warehouse: WarehouseResource,
                 inputs: MartInputsResource) -> tuple[dict[str, int], bool]:
    """Rows per table of the mart, and whether its tables were kept (inputs unchanged) rather than
    rebuilt. The inputs no later mart needs are then released from the run's cache."""
    if spec.week_window is not None:
        with warehouse.get_connection() as con:
            built = week_window.refresh(con, spec, inputs.cache)
        inputs.cache.release(spec)
        return built.rows, built.mode == "kept"
    with warehouse.get_connection() as con:
        fingerprint = inputs.cache.fingerprint(spec, con)
        kept = fingerprint is not None and memo.is_current(con, spec, fingerprint)
        if kept:
            rows = {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in spec.tables}
        else:
            memo.forget(con, spec)
            frames = inputs.cache.compute(spec, con)
            rows = {table: replace_table(con, table, frame) for table, frame in frames.items()}
            del frames
            if fingerprint is not None:
                memo.store(con, spec, fingerprint)
    inputs.cache.release(spec)
    return rows, kept


def build_mart_asset(spec: MartSpec) -> AssetsDefinition:
    """The asset(s) of one declared mart: typed inputs in, its table(s) out."""
    description = f"{', '.join(spec.tables)}: {spec.description} Grain: {spec.grain}."
    if len(spec.tables) == 1:
        @asset(key=table_asset_key(spec.tables[0]), group_name=GROUP, deps=_deps(spec), description=description,
               kinds={"duckdb", "polars"}, metadata=_metadata(spec))
        def _mart(warehouse: WarehouseResource, mart_inputs: MartInputsResource) -> MaterializeResult:
            counts, kept = _materialise(spec, warehouse, mart_inputs)
            (rows,) = counts.values()
            return MaterializeResult(metadata={"rows": rows, "kept_unchanged": kept, **_metadata(spec)})

        return _mart

    @multi_asset(specs=[AssetSpec(table_asset_key(t), group_name=GROUP, deps=_deps(spec), description=description,
                                  kinds={"duckdb", "polars"}, metadata=_metadata(spec)) for t in spec.tables],
                 name=spec.name)
    def _marts(warehouse: WarehouseResource, mart_inputs: MartInputsResource):  # noqa: ANN202 - yields results
        counts, kept = _materialise(spec, warehouse, mart_inputs)
        for table, rows in counts.items():
            yield MaterializeResult(asset_key=table_asset_key(table),
                                    metadata={"rows": MetadataValue.int(rows), "kept_unchanged": kept})

    return _marts


def mart_assets() -> list[AssetsDefinition]:
    """``marts.person_week`` and one asset per declared mart."""
    return [person_week, *(build_mart_asset(spec) for spec in load_registry().values())]
