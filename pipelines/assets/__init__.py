"""Dagster assets, one module per layer: ingest, clean, identity, marts, report."""

from dagster import AssetChecksDefinition, AssetsDefinition


def all_assets() -> list[AssetsDefinition]:
    from pipelines.assets import analytics, checks, clean, identity, ingest, marts, pilot, report

    return [
        *ingest.ingest_assets(),
        clean.clean_events,
        clean.hr_directory,
        checks.run_summary,
        identity.identity_map,
        marts.person_week,
        marts.adoption_curve,
        *analytics.analytics_assets(),
        *pilot.pilot_assets(),
        report.weekly_adoption_report,
    ]


def all_asset_checks() -> list[AssetChecksDefinition]:
    from pipelines.assets import checks

    return checks.build_asset_checks([k for a in all_assets() for k in a.keys])
