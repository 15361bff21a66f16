"""Small helpers to show tables in Dagster metadata."""

from __future__ import annotations

import polars as pl
from dagster import MetadataValue


def markdown_table(frame: pl.DataFrame, max_rows: int = 50) -> MetadataValue:
    """A frame as a Markdown table for the Dagster UI."""
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   tbl_rows=max_rows, tbl_cols=-1, fmt_str_lengths=60):
        return MetadataValue.md(str(frame.head(max_rows)))
