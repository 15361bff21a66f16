"""Dagster assets, one module per layer: ingest, clean, identity, marts, report."""

from dagster import AssetChecksDefinition, AssetsDefinition, WeeklyPartitionsDefinition

LAYERS: tuple[str, ...] = ("ingest", "clean", "identity", "marts", "report")


def all_assets(partitions: WeeklyPartitionsDefinition) -> list[AssetsDefinition]:
    """Every asset; the weekly report is partitioned by ``partitions``."""
    from pipelines.assets import checks, clean, identity, ingest, marts, report

    return [
        *ingest.ingest_assets(),
        clean.clean_events,
        clean.hr_directory,
        checks.run_summary,
        identity.identity_map,
        identity.person_keys,
        identity.events_pseudonymous,
        identity.survey_responses,
        *marts.mart_assets(),
        *report.report_assets(partitions),
    ]


def all_asset_checks(assets: list[AssetsDefinition]) -> list[AssetChecksDefinition]:
    """The quality registry's checks, bound to the assets they guard."""
    from pipelines.assets import checks

    return checks.build_asset_checks([k for a in assets for k in a.keys])
