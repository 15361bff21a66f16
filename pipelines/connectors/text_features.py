"""Non-identifying features of a message's text, computed inside a connector.

Message text never leaves a connector; what the charters and metrics need from it is derived here
and the text is dropped. Each feature exists twice, with the same regular expression, so that a
connector can compute it where its data already is:

- as a DuckDB SQL expression (``*_sql(column)``) for connectors that parse with DuckDB;
- as a Polars expression (``*_expr(column)``) for connectors that parse with Polars.

The patterns work on plain text (Mattermost, Viva Engage) and on Slack's markup (``<@U123>``,
``<!here>``, ``<#C123|general>``): both engines use RE2-style syntax (no look-behind), so a
"preceded by" condition is written as a consumed leading character.

Features (all null when the text is null):

- ``body_chars``: number of characters (Unicode code points) of the text as exported.
- ``hashtags``: distinct ``#tags`` of the text, lower-cased, without ``#``, sorted; ``[]`` if none.
  A tag starts at the beginning of the text or after a character that is not a letter, digit,
  ``_``, ``&``, ``#``, ``/`` or ``<`` (so URL fragments, HTML entities like ``&#39;`` and Slack
  channel links are not tags) and must contain a letter (``#1`` is not a tag).
- ``is_question``: the text ends a sentence with ``?`` (a ``?`` followed by white space, a closing
  bracket/quote/formatting mark or the end); a ``?`` inside a URL's query string does not count.
- ``mention_count``: number of @-mentions: Slack's ``<@U123>`` / ``<@U123|name>``,
  ``<!here>``, ``<!channel>``, ``<!everyone>``, ``<!subteam^S123>``, and plain ``@name`` handles
  not preceded by a letter or digit (an email address is not a mention).
"""

from __future__ import annotations

import polars as pl

#: ``#tag`` with its leading context; group 1 is the tag.
HASHTAG_PATTERN = r"(?:^|[^\p{L}\p{N}_&#/<])#([\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*)"
#: A question mark that ends a sentence.
QUESTION_PATTERN = r"[?\x{FF1F}](?:[\s)\]\"'\x{00BB}*_~]|$)"
#: One @-mention (Slack markup or a plain handle).
MENTION_PATTERN = (
    r"<@[A-Za-z0-9]+(?:\|[^>]*)?>"
    r"|<!(?:here|channel|everyone)(?:\|[^>]*)?>"
    r"|<!subteam\^[^>]+>"
    r"|(?:^|[^\p{L}\p{N}_.@<\-/])@[\p{L}\p{N}_][\p{L}\p{N}_.\-]*"
)

#: The feature columns, in the order of :func:`text_features_sql` and :func:`text_features_exprs`.
FEATURE_COLUMNS: tuple[str, ...] = ("body_chars", "hashtags", "is_question", "mention_count")


def _sql_literal(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


def body_chars_sql(column: str) -> str:
    """DuckDB: characters of ``column`` as ``INTEGER``."""
    return f"CAST(length({column}) AS INTEGER)"


def hashtags_sql(column: str) -> str:
    """DuckDB: distinct lower-cased hashtags of ``column`` without ``#``, sorted, as ``VARCHAR[]``."""
    return (
        f"CASE WHEN NOT contains({column}, '#') THEN []::VARCHAR[] ELSE "
        f"list_sort(list_distinct(list_transform("
        f"regexp_extract_all({column}, {_sql_literal(HASHTAG_PATTERN)}, 1), t -> lower(t)))) END"
    )


def is_question_sql(column: str) -> str:
    """DuckDB: whether ``column`` ends a sentence with a question mark, as ``BOOLEAN``."""
    return f"regexp_matches({column}, {_sql_literal(QUESTION_PATTERN)})"


def mention_count_sql(column: str) -> str:
    """DuckDB: number of @-mentions in ``column`` as ``SMALLINT`` (capped at 32767)."""
    count = f"len(regexp_extract_all({column}, {_sql_literal(MENTION_PATTERN)}))"
    return (
        f"CAST(CASE WHEN NOT contains({column}, '@') AND NOT contains({column}, '<!') THEN 0 "
        f"WHEN {count} > 32767 THEN 32767 ELSE {count} END AS SMALLINT)"
    )


def text_features_sql(column: str) -> str:
    """DuckDB: the four feature expressions of ``column``, aliased, comma-separated for a SELECT list."""
    return ", ".join(
        (
            f"{body_chars_sql(column)} AS body_chars",
            f"{hashtags_sql(column)} AS hashtags",
            f"{is_question_sql(column)} AS is_question",
            f"{mention_count_sql(column)} AS mention_count",
        )
    )


def body_chars_expr(column: str) -> pl.Expr:
    """Polars: characters of ``column`` as ``Int32``."""
    return pl.col(column).str.len_chars().cast(pl.Int32).alias("body_chars")


def hashtags_expr(column: str) -> pl.Expr:
    """Polars: distinct lower-cased hashtags of ``column`` without ``#``, sorted, as ``List(Utf8)``."""
    return pl.col(column).map_batches(_hashtags_of, return_dtype=pl.List(pl.Utf8)).alias("hashtags")


def _hashtags_of(texts: pl.Series) -> pl.Series:
    # list operations cost even on empty rows, so they run only on the texts holding a '#'
    frame = pl.DataFrame({"text": texts}).with_row_index("__row")
    tagged = frame.filter(pl.col("text").str.contains("#", literal=True)).select(
        "__row",
        pl.col("text")
        .str.extract_all(HASHTAG_PATTERN)
        .list.eval(pl.element().str.replace(r"^[^#]*#", "").str.to_lowercase())
        .list.unique()
        .list.sort()
        .alias("tags"),
    )
    return (
        frame.join(tagged, on="__row", how="left", maintain_order="left")
        .select(
            pl.when(pl.col("text").is_null())
            .then(None)
            .otherwise(pl.col("tags").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))))
        )
        .to_series()
        .alias(texts.name)
    )


def is_question_expr(column: str) -> pl.Expr:
    """Polars: whether ``column`` ends a sentence with a question mark."""
    return pl.col(column).str.contains(QUESTION_PATTERN).alias("is_question")


def mention_count_expr(column: str) -> pl.Expr:
    """Polars: number of @-mentions in ``column`` as ``Int16`` (capped at 32767)."""
    text = pl.col(column)
    candidates = pl.when(text.str.contains("@", literal=True) | text.str.contains("<!", literal=True)).then(text)
    count = candidates.str.count_matches(MENTION_PATTERN).clip(upper_bound=32767)
    return pl.when(text.is_null()).then(None).otherwise(count.fill_null(0)).cast(pl.Int16).alias("mention_count")


def text_features_exprs(column: str) -> list[pl.Expr]:
    """Polars: the four feature expressions of ``column`` (aliased ``body_chars``, ``hashtags``,
    ``is_question``, ``mention_count``), for ``with_columns`` / ``select``."""
    return [body_chars_expr(column), hashtags_expr(column), is_question_expr(column), mention_count_expr(column)]
