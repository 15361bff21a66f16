"""Dagster asset checks generated from the quality registry (``quality.registry``), and the
``quality/run_summary`` asset.

One ``@asset_check`` per concrete check: per-source checks are bound to every registered connector
that yields their table. Broken contracts (schema, required values, uniqueness, conservation,
privacy floors) are ``ERROR`` and blocking, so the assets downstream of a failure do not run;
anomalies are ``WARN`` and never block. The check bodies live in ``quality/``: this module only
opens the warehouse and translates outcomes into ``AssetCheckResult``.
"""


import logging
from collections.abc import Iterable, Mapping, Sequence

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetChecksDefinition,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from pipelines.connectors import registered_connectors
from pipelines.metadata import markdown_table
from pipelines.resources import WarehouseResource
from quality.outcome import CheckOutcome, Severity
from quality.registry import PLATFORM_INGESTS, REGISTRY, QualityCheck, expand
from quality.run_summary import RUN_SUMMARY_TABLE, write_run_summary
from quality.runner import evaluate
from quality.warehouse import load_context

log = logging.getLogger(__name__)

RUN_SUMMARY = AssetKey(["quality", "run_summary"])


def connector_sources() -> dict[str, list[str]]:
    """Registered connectors by the canonical tables they yield: ``{"events": ["slack", ...], ...}``."""
    sources: dict[str, list[str]] = {}
    for connector in registered_connectors().values():
        for table in connector.yields:
            sources.setdefault(table, []).append(connector.name)
    return sources


def _platform_keys(sources: Mapping[str, Sequence[str]]) -> list[AssetKey]:
    names = sorted({*sources.get("events", ()), *sources.get("activity_counts", ())})
    return [AssetKey(["raw", n]) for n in names]


def to_check_result(outcome: CheckOutcome) -> AssetCheckResult:
    """A quality outcome as a Dagster ``AssetCheckResult`` (metadata: figures and failing rows)."""
    metadata: dict[str, object] = {
        k: v for k, v in outcome.metadata.items() if isinstance(v, (int, float, str, bool))
    }
    if outcome.skipped:
        metadata["skipped"] = True
    if outcome.failing_rows is not None and outcome.failing_rows.height:
        metadata["rows"] = markdown_table(outcome.failing_rows, max_rows=20)
    return AssetCheckResult(
        passed=outcome.passed,
        severity=AssetCheckSeverity.ERROR if outcome.severity is Severity.ERROR else AssetCheckSeverity.WARN,
        description=outcome.message,
        metadata=metadata,
    )


def _build_one(check: QualityCheck, additional: list[AssetKey]) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey.from_user_string(check.target),
        name=check.name,
        description=check.description,
        blocking=check.blocking,
        additional_deps=additional or None,
        compute_kind="great_expectations" if check.engine == "gx" else "duckdb",
    )
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.get_connection() as con:
            outcome = evaluate(con, check, load_context(con))
        if not outcome.passed:
            log.warning("%s on %s: %s", check.name, check.target, outcome.message)
        return to_check_result(outcome)

    return _check


def build_asset_checks(
    asset_keys: Iterable[AssetKey] | None = None,
    *,
    sources: Mapping[str, Sequence[str]] | None = None,
) -> list[AssetChecksDefinition]:
    """One Dagster asset check per concrete quality check.

    ``asset_keys``: the assets of the definitions; checks whose target is not among them are left
    out (e.g. ``marts/pilot_effects`` before that asset exists), and so are extra dependencies
    outside them. ``sources``: the connectors by table they yield (default: the registry of
    connectors).
    """
    sources = sources if sources is not None else connector_sources()
    known = set(asset_keys) if asset_keys is not None else None
    platform = _platform_keys(sources)
    built: list[AssetChecksDefinition] = []
    for check in expand(REGISTRY, sources):
        key = AssetKey.from_user_string(check.target)
        if known is not None and key not in known:
            log.debug("no asset %s in the definitions: check %s left out", check.target, check.name)
            continue
        additional: list[AssetKey] = []
        for dep in check.also_reads:
            additional += platform if dep == PLATFORM_INGESTS else [AssetKey.from_user_string(dep)]
        if known is not None:
            additional = [k for k in additional if k in known]
        built.append(_build_one(check, [k for k in additional if k != key]))
    return built


@asset(
    key=RUN_SUMMARY,
    group_name="clean",
    # every ingest asset is upstream of one of these
    deps=[AssetKey(["clean", "events"]), AssetKey(["clean", "hr_directory"]), AssetKey(["raw", "drop_zone_config"])],
    description="quality.run_summary: rows in, kept, rejected and filtered per source and table for this run "
    "(rows in = kept + rejected + filtered).",
    kinds={"duckdb"},
)
def run_summary(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        summary = write_run_summary(con)
    unbalanced = summary.filter(~summary["balanced"])
    return MaterializeResult(
        metadata={
            "table": RUN_SUMMARY_TABLE,
            "rows_in": int(summary["rows_in"].sum()),
            "kept": int(summary["kept"].sum()),
            "rejected": int(summary["rejected"].sum()),
            "filtered": int(summary["filtered"].sum()),
            "unbalanced_sources": MetadataValue.text(", ".join(unbalanced["source"]) or "none"),
            "per_source": markdown_table(summary.drop("computed_at")),
        }
    )
