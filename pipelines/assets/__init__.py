"""Dagster assets, one module per layer: ingest, clean, identity, marts, report."""

from dagster import AssetChecksDefinition, AssetsDefinition


def all_assets() -> list[AssetsDefinition]:
    from pipelines.assets import analytics, clean, identity, ingest, marts, pilot, report

    return [
        *ingest.ingest_assets(),
        clean.clean_events,
        clean.hr_directory,
        identity.identity_map,
        marts.person_week,
        marts.adoption_curve,
        *analytics.analytics_assets(),
        *pilot.pilot_assets(),
        report.weekly_adoption_report,
    ]


def all_asset_checks() -> list[AssetChecksDefinition]:
    from pipelines.assets import clean, identity, marts

    return [clean.events_conserved, identity.identity_match_rate, marts.person_week_unique]
