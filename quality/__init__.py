"""Data quality on every layer: the check registry (GX 1.x suites and DuckDB SQL checks), anomaly
warnings, the run summary and the report's coverage data. No Dagster here: the binding to asset
checks lives in ``pipelines.assets.checks``."""
