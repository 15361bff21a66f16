"""Dagster asset checks generated from the quality registry (``quality.registry``), and the
``quality/run_summary`` asset.

Every concrete check of one asset runs in one ``@multi_asset_check`` step (one warehouse connection
and one context for all of them), each keeping its own name, severity and blocking flag; per-source
checks are bound to every registered connector that yields their table. Broken contracts (schema, required values, uniqueness, conservation,
privacy floors) are ``ERROR`` and blocking, so the assets downstream of a failure do not run;
anomalies are ``WARN`` and never block. The check bodies live in ``quality/``: this module only
opens the warehouse and translates outcomes into ``AssetCheckResult``.
"""


import logging
from collections.abc import Iterable, Mapping, Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset_check,
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


def _build_for_asset(key: AssetKey, checks: Sequence[QualityCheck],
                    additional: Mapping[str, list[AssetKey]]) -> AssetChecksDefinition:
    """Every check of one asset as one Dagster step (one connection, one context for all of them);
    each keeps its own name, severity and blocking flag."""
    specs = [
        AssetCheckSpec(
            name=check.name, asset=key, description=check.description, blocking=check.blocking,
            additional_deps=additional[check.name] or None,
        )
        for check in checks
    ]

    @multi_asset_check(specs=specs, name=f"checks_{'_'.join(key.path)}",
                       compute_kind="duckdb", can_subset=True)
    def _checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterable[AssetCheckResult]:
        selected = {k.name for k in context.selected_asset_check_keys}
        with warehouse.get_connection() as con:
            ctx = load_context(con)
            for check in checks:
                if check.name not in selected:
                    continue
                outcome = evaluate(con, check, ctx)
                if not outcome.passed:
                    log.warning("%s on %s: %s", check.name, check.target, outcome.message)
                result = to_check_result(outcome)
                yield AssetCheckResult(asset_key=key, check_name=check.name, passed=result.passed,
                                       severity=result.severity, description=result.description,
                                       metadata=result.metadata)

    return _checks


def build_asset_checks(
    asset_keys: Iterable[AssetKey] | None = None,
    *,
    sources: Mapping[str, Sequence[str]] | None = None,
) -> list[AssetChecksDefinition]:
    """The concrete quality checks, bound to the assets they guard: one Dagster step per asset.

    ``asset_keys``: the assets of the definitions; checks whose target is not among them are left
    out (e.g. ``marts/pilot_effects`` before that asset exists), and so are extra dependencies
    outside them. ``sources``: the connectors by table they yield (default: the registry of
    connectors).
    """
    sources = sources if sources is not None else connector_sources()
    known = set(asset_keys) if asset_keys is not None else None
    platform = _platform_keys(sources)
    by_asset: dict[AssetKey, list[QualityCheck]] = {}
    additional: dict[str, list[AssetKey]] = {}
    for check in expand(REGISTRY, sources):
        key = AssetKey.from_user_string(check.target)
        if known is not None and key not in known:
            log.debug("no asset %s in the definitions: check %s left out", check.target, check.name)
            continue
        deps: list[AssetKey] = []
        for dep in check.also_reads:
            deps += platform if dep == PLATFORM_INGESTS else [AssetKey.from_user_string(dep)]
        if known is not None:
            deps = [k for k in deps if k in known]
        additional[check.name] = [k for k in deps if k != key]
        by_asset.setdefault(key, []).append(check)
    return [_build_for_asset(key, checks, additional) for key, checks in by_asset.items()]


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
