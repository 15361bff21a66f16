"""Viva Insights person query connectors (``platforms/viva_insights/*.csv``): the weekly person
query CSV that Microsoft's ``vivainsights`` (Python) and ``wpa`` (R) packages analyse.

A person query has one row per person and week: ``PersonId`` (a hashed, de-identified key),
``MetricDate`` (the first day, a Sunday, of the week), metric columns (counts such as
``Emails_sent``, ``Chats_sent``, ``Channel_message_posts``; hours such as ``Collaboration_hours``)
and the HR attributes the tenant uploaded (``Organization``, ``FunctionType``, ``Level``...).

``viva_insights`` -> ``activity_counts`` and ``accounts``
--------------------------------------------------------
- Metric columns are mapped onto canonical actions by :data:`DEFAULT_METRIC_ACTIONS`
  (``Chats_sent`` and ``Channel_message_posts`` -> ``post``: what people contribute on Teams),
  replaced per installation by ``viva_insights_metrics`` in ``settings.yaml`` or by the
  constructor's ``metric_actions``. Hours are not action counts and are never mapped by default;
  a mapping may only name actions of the vocabulary outside ``cannot_see``. Mapped columns
  missing from a file are skipped (logged); several columns mapped to one action are added.
- One ``activity_counts`` row per person, week and mapped action: ``period_start`` =
  ``MetricDate`` (``YYYY-MM-DD`` or ``M/D/YYYY``), ``period_end`` = ``MetricDate`` + 6 days. The
  clean layer puts such a Sunday-to-Saturday week whole into the ISO week holding six of its days
  (the Monday after ``MetricDate``). An empty metric counts 0; a fractional value (the synthetic
  sample data has them) is added as it is and the sum rounded half to even.
- ``account_id`` = ``PersonId``, kept as the join key: an ``accounts`` row per person carries it as
  ``employee_number``, so the default identity rule ``employee_number -> employee_id`` matches an
  HR directory keyed by the same ids (such as the query's own HR attributes, below). A ``PersonId``
  that is an e-mail address (de-identification off) also matches HR by UPN.
- Quarantined (``"<file> line <n>"``): an empty ``PersonId``, an unreadable ``MetricDate``, a
  mapped metric that is not a number or is negative, a repeated (``PersonId``, ``MetricDate``).
- A file that cannot be read at all (empty, no ``PersonId``/``MetricDate`` header, not a CSV, or a
  folder named like a ``.csv``) raises a ``ContractError`` naming it (both connectors).

``viva_insights_hr`` -> ``hr_snapshots`` (only when the drop zone has no HR directory)
-------------------------------------------------------------------------------------
The HR attributes of the same files, one snapshot per person and ``MetricDate``
(``employee_id`` = ``PersonId``), mapped by :data:`DEFAULT_HR_COLUMNS` (``Organization`` ->
``department``, ``FunctionType`` -> ``job_family``, ``Level`` -> ``level`` (its digits, e.g.
``Level3`` -> 3), and ``ManagerId``, ``HireDate``, ``Country``, ``Region`` -> ``site`` when present),
updated by ``viva_insights_hr_columns`` in ``settings.yaml``. It yields nothing when ``hr/`` holds
any file: a real HR directory always wins (the person query's attributes are what the tenant
uploaded to Viva Insights, usually a coarser copy of it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar, Literal

import polars as pl

from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.config_files import (
    LINE_COLUMN,
    REASON_COLUMN,
    SETTINGS_FILE,
    conform_rows,
    iter_csv_batches,
    join_text,
    line_locator,
    load_settings,
    rejects_frame,
)
from transforms.contracts import ACCOUNTS, ACTIONS, ACTIVITY_COUNTS, HR_SNAPSHOTS, REJECTS

log = logging.getLogger(__name__)

SOURCE = "viva_insights"
PERSON_ID = "PersonId"
METRIC_DATE = "MetricDate"
REQUIRED: tuple[str, ...] = (PERSON_ID, METRIC_DATE)
DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
#: Default metric column -> canonical action (override with ``viva_insights_metrics``).
DEFAULT_METRIC_ACTIONS: dict[str, str] = {"Chats_sent": "post", "Channel_message_posts": "post"}
#: Default ``hr_snapshots`` column -> person query column (updated by ``viva_insights_hr_columns``).
DEFAULT_HR_COLUMNS: dict[str, str] = {
    "department": "Organization",
    "job_family": "FunctionType",
    "level": "Level",
    "manager_id": "ManagerId",
    "hire_date": "HireDate",
    "country": "Country",
    "site": "Region",
}
_HR_MAPPABLE = ("department", "org_unit", "site", "country", "job_family", "worker_type", "level", "manager_id",
                "hire_date", "termination_date", "display_name")
_CANNOT_SEE: tuple[str, ...] = ("visit", "join")


def _parse_date(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return pl.coalesce([value.str.to_date(f, strict=False) for f in DATE_FORMATS])


def check_metric_actions(mapping: Mapping[str, str], *, origin: str) -> dict[str, str]:
    """A metric mapping with every action in the vocabulary and outside ``cannot_see``, or an error."""
    bad = {c: a for c, a in mapping.items() if a not in ACTIONS or a in _CANNOT_SEE}
    if bad:
        raise ConnectorError(
            f"metric mapping names unknown or unseeable actions {bad}; expected one of "
            f"{', '.join(a for a in ACTIONS if a not in _CANNOT_SEE)}",
            file=origin,
        )
    return dict(mapping)


def _settings(drop_zone: Path):  # noqa: ANN202 - Settings or None
    path = Path(drop_zone) / SETTINGS_FILE
    return load_settings(path) if path.is_file() else None


class VivaInsightsConnector(Connector):
    """Viva Insights person query CSVs -> per-person weekly activity counts and accounts."""

    name: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Viva Insights person query"
    kind: ClassVar[Literal["platform", "hr"]] = "platform"
    yields: ClassVar[tuple[TableName, ...]] = ("activity_counts", "accounts")
    cannot_see: ClassVar[tuple[str, ...]] = _CANNOT_SEE
    reads: ClassVar[str] = (
        "*.csv person queries (PersonId, MetricDate, metric columns, HR attributes): metrics mapped to actions "
        "(default Chats_sent, Channel_message_posts -> post; settings viva_insights_metrics)"
    )

    def __init__(self, metric_actions: Mapping[str, str] | None = None) -> None:
        """``metric_actions`` replaces the default mapping (and wins over ``settings.yaml``)."""
        self._explicit = check_metric_actions(metric_actions, origin="metric_actions") if metric_actions else None
        self.metric_actions = self._explicit or dict(DEFAULT_METRIC_ACTIONS)

    def recognises(self, path: Path) -> bool:
        return path.suffix.lower() == ".csv"  # a folder named like one is reported by read()

    def read_drop_zone(self, drop_zone: Path) -> Iterator[Batch]:
        """Every person query of the drop zone, mapped by ``viva_insights_metrics`` of its
        ``settings.yaml`` unless the constructor was given a mapping."""
        if self._explicit is None:
            settings = _settings(drop_zone)
            if settings is not None and settings.viva_insights_metrics:
                self.metric_actions = check_metric_actions(
                    settings.viva_insights_metrics, origin=f"{SETTINGS_FILE} viva_insights_metrics"
                )
        yield from super().read_drop_zone(drop_zone)

    def read(self, path: Path) -> Iterator[Batch]:
        label = str(path)
        seen = pl.DataFrame(schema={"account_id": pl.Utf8, "period_start": pl.Date})
        persons: list[pl.DataFrame] = []
        columns: list[str] | None = None
        n_counts = n_rejects = 0
        for batch in iter_csv_batches(path, required=REQUIRED, what="a Viva Insights person query"):
            if columns is None:
                columns = [c for c in self.metric_actions if c in batch.columns]
                missing = sorted(set(self.metric_actions) - set(columns))
                if missing:
                    log.info("%s: mapped metric column(s) not in the file, skipped: %s", path.name, ", ".join(missing))
                if not columns:
                    log.warning("%s: none of the mapped metrics %s is in the file: no counts",
                                path.name, ", ".join(self.metric_actions))
            values = {c: pl.col(c).str.strip_chars().replace("", None) for c in columns}
            numbers = {c: v.cast(pl.Float64, strict=False) for c, v in values.items()}
            staged = batch.with_columns(
                pl.col(PERSON_ID).str.strip_chars().replace("", None).alias("account_id"),
                _parse_date(METRIC_DATE).alias("period_start"),
                *[numbers[c].fill_null(0.0).alias(f"__n_{c}") for c in columns],
            )
            checks = [
                pl.when(pl.col("account_id").is_null()).then(pl.lit(f"{PERSON_ID}: required, found empty")),
                pl.when(pl.col("period_start").is_null()).then(
                    join_text(f"{METRIC_DATE}: expected a date YYYY-MM-DD or M/D/YYYY, found '",
                              pl.col(METRIC_DATE).fill_null(""), "'")),
                *[
                    pl.when(values[c].is_not_null() & (numbers[c].is_null() | numbers[c].is_nan() | (numbers[c] < 0)))
                    .then(join_text(f"{c}: expected a count >= 0, found '", values[c], "'"))
                    for c in columns
                ],
            ]
            staged = staged.with_columns(
                pl.concat_str(checks, separator="; ", ignore_nulls=True).replace("", None).alias(REASON_COLUMN)
            )
            good = staged.filter(pl.col(REASON_COLUMN).is_null())
            first = good.select(pl.struct("account_id", "period_start").is_first_distinct()).to_series()
            earlier = good.select("account_id", "period_start").join(
                seen.with_columns(pl.lit(True).alias("__seen")), on=["account_id", "period_start"], how="left",
                maintain_order="left",
            )["__seen"].fill_null(False)
            fresh = first & ~earlier
            repeated = good.filter(~fresh).with_columns(
                pl.lit(f"repeats a ({PERSON_ID}, {METRIC_DATE}) already read").alias(REASON_COLUMN)
            )
            good = good.filter(fresh)
            seen = pl.concat([seen, good.select("account_id", "period_start")])
            excerpt = join_text(f"{PERSON_ID}=", pl.col(PERSON_ID).fill_null(""))
            rejects = pl.concat([
                rejects_frame(f, contract=ACTIVITY_COUNTS.name, file=label, source=SOURCE,
                              reason=pl.col(REASON_COLUMN), locator=line_locator(path.name), excerpt=excerpt)
                for f in (staged.filter(pl.col(REASON_COLUMN).is_not_null()), repeated)
            ])
            persons.append(good.select("account_id").unique(maintain_order=True))
            counts = self._counts(good, columns, path.name)
            conformed, bad = conform_rows(
                counts, ACTIVITY_COUNTS, file=label, source=SOURCE,
                locator=join_text(line_locator(path.name), " ", pl.col("action")),
            )
            rejects = pl.concat([rejects, bad.select(REJECTS.names)])
            n_counts += conformed.height
            n_rejects += rejects.height
            if conformed.height:
                yield Batch("activity_counts", conformed.sort("period_start", "account_id", "action"))
            if rejects.height:
                yield Batch("rejects", rejects)
        if persons:
            accounts = pl.concat(persons).unique(maintain_order=True).sort("account_id").select(
                pl.lit(SOURCE).alias("source"),
                "account_id",
                pl.lit(None, pl.Utf8).alias("account_email"),
                pl.lit(None, pl.Utf8).alias("account_upn"),
                pl.col("account_id").alias("employee_number"),
                pl.lit(None, pl.Utf8).alias("username"),
                pl.lit(None, pl.Utf8).alias("display_name"),
                pl.lit(False).alias("is_automated"),
                pl.lit(False).alias("is_deleted"),
                pl.lit(None, pl.Boolean).alias("is_guest"),
            ).cast(ACCOUNTS.schema)  # type: ignore[arg-type]
            if accounts.height:
                yield Batch("accounts", accounts)
        log.info("%s: %d count row(s), %d row(s) quarantined", path.name, n_counts, n_rejects)

    def _counts(self, good: pl.DataFrame, columns: list[str], file: str) -> pl.DataFrame:
        """Long counts: one row per person, week and mapped action (columns of one action added)."""
        actions = sorted({self.metric_actions[c] for c in columns})
        if not actions:
            return pl.DataFrame(schema={**ACTIVITY_COUNTS.schema, LINE_COLUMN: pl.Int64})
        wide = good.select(
            "account_id", "period_start", LINE_COLUMN,
            *[
                pl.sum_horizontal([pl.col(f"__n_{c}") for c in columns if self.metric_actions[c] == a])
                .round(0, mode="half_to_even").cast(pl.Int64).alias(a)
                for a in actions
            ],
        )
        return wide.unpivot(
            index=["account_id", "period_start", LINE_COLUMN], variable_name="action", value_name="count"
        ).with_columns(
            pl.lit(SOURCE).alias("source"),
            pl.lit(None, pl.Utf8).alias("account_email"),
            (pl.col("period_start") + pl.duration(days=6)).alias("period_end"),
            pl.lit(file).alias("source_file"),
        )


class VivaInsightsHrConnector(Connector):
    """The HR attributes of Viva Insights person queries, as an HR source when there is no directory."""

    name: ClassVar[str] = "viva_insights_hr"
    title: ClassVar[str] = "Viva Insights person query HR attributes (when no HR directory)"
    kind: ClassVar[Literal["platform", "hr"]] = "hr"
    yields: ClassVar[tuple[TableName, ...]] = ("hr_snapshots",)
    cannot_see: ClassVar[tuple[str, ...]] = ()
    #: hr/canonical/ holds the generic HR source's (hr_csv) canonical extracts, not this one's
    reads_canonical: ClassVar[bool] = False
    reads: ClassVar[str] = (
        "platforms/viva_insights/*.csv HR attribute columns, one snapshot per PersonId and MetricDate; "
        "nothing when hr/ holds a directory"
    )

    def __init__(self, columns: Mapping[str, str] | None = None) -> None:
        """``columns`` (``hr_snapshots`` column -> query column) updates the defaults and wins over
        ``settings.yaml``."""
        self._explicit = dict(columns) if columns else None
        self.columns = {**DEFAULT_HR_COLUMNS, **(columns or {})}

    def folder(self, drop_zone: Path) -> Path:
        return drop_zone / "platforms" / SOURCE

    def recognises(self, path: Path) -> bool:
        return path.suffix.lower() == ".csv"  # a folder named like one is reported by read()

    def read_drop_zone(self, drop_zone: Path) -> Iterator[Batch]:
        hr = Path(drop_zone) / "hr"
        if hr.is_dir() and any(not p.name.startswith(".") for p in hr.iterdir()):
            if self.inputs(drop_zone):
                log.info("viva_insights_hr: hr/ holds an HR directory; the person query's HR attributes are not used")
            return
        if self._explicit is None:
            settings = _settings(drop_zone)
            if settings is not None and settings.viva_insights_hr_columns:
                self.columns = {**DEFAULT_HR_COLUMNS, **settings.viva_insights_hr_columns}
        unknown = sorted(set(self.columns) - set(_HR_MAPPABLE))
        if unknown:
            raise ConnectorError(f"viva_insights_hr_columns: unknown hr_snapshots column(s) {', '.join(unknown)}; "
                                 f"expected some of {', '.join(_HR_MAPPABLE)}", file=SETTINGS_FILE)
        yield from super().read_drop_zone(drop_zone)

    def read(self, path: Path) -> Iterator[Batch]:
        label = str(path)
        seen = pl.DataFrame(schema={"employee_id": pl.Utf8, "snapshot_date": pl.Date})
        for batch in iter_csv_batches(path, required=REQUIRED, what="a Viva Insights person query"):
            present = {k: v for k, v in self.columns.items() if v in batch.columns}
            text = {k: pl.col(v).str.strip_chars().replace("", None) for k, v in present.items()}
            person = pl.col(PERSON_ID).str.strip_chars().replace("", None)
            exprs = {
                "snapshot_date": _parse_date(METRIC_DATE),
                "employee_id": person,
                "email": pl.when(person.str.contains("@")).then(person.str.to_lowercase()),
                "upn": pl.when(person.str.contains("@")).then(person.str.to_lowercase()),
                **{k: v for k, v in text.items() if k not in ("level", "hire_date", "termination_date")},
            }
            if "level" in text:
                exprs["level"] = text["level"].str.extract(r"(-?\d+)").cast(pl.Int16, strict=False)
            for k in ("hire_date", "termination_date"):
                if k in text:
                    exprs[k] = pl.coalesce([text[k].str.to_date(f, strict=False) for f in DATE_FORMATS])
            staged = batch.with_columns(
                *[e.alias(k) for k, e in exprs.items()],
                pl.lit(path.name).alias("source_file"),
            )
            checks = [
                pl.when(pl.col("employee_id").is_null()).then(pl.lit(f"{PERSON_ID}: required, found empty")),
                pl.when(pl.col("snapshot_date").is_null()).then(
                    join_text(f"{METRIC_DATE}: expected a date YYYY-MM-DD or M/D/YYYY, found '",
                              pl.col(METRIC_DATE).fill_null(""), "'")),
            ]
            staged = staged.with_columns(
                pl.concat_str(checks, separator="; ", ignore_nulls=True).replace("", None).alias(REASON_COLUMN)
            )
            good = staged.filter(pl.col(REASON_COLUMN).is_null())
            key = ["employee_id", "snapshot_date"]
            first = good.select(pl.struct(key).is_first_distinct()).to_series()
            earlier = good.select(key).join(seen.with_columns(pl.lit(True).alias("__seen")), on=key, how="left",
                                            maintain_order="left")["__seen"].fill_null(False)
            fresh = first & ~earlier
            repeated = good.filter(~fresh).with_columns(
                pl.lit(f"repeats a ({PERSON_ID}, {METRIC_DATE}) already read").alias(REASON_COLUMN))
            good = good.filter(fresh)
            seen = pl.concat([seen, good.select(key)])
            excerpt = join_text(f"{PERSON_ID}=", pl.col(PERSON_ID).fill_null(""))
            rejects = pl.concat([
                rejects_frame(f, contract=HR_SNAPSHOTS.name, file=label, source=self.name,
                              reason=pl.col(REASON_COLUMN), locator=line_locator(path.name), excerpt=excerpt)
                for f in (staged.filter(pl.col(REASON_COLUMN).is_not_null()), repeated)
            ])
            conformed, bad = conform_rows(good, HR_SNAPSHOTS, file=label, source=self.name,
                                          locator=line_locator(path.name), excerpt=excerpt)
            rejects = pl.concat([rejects, bad.select(REJECTS.names)])
            if conformed.height:
                yield Batch("hr_snapshots", conformed.sort("snapshot_date", "employee_id"))
            if rejects.height:
                yield Batch("rejects", rejects)


__all__ = [
    "DEFAULT_HR_COLUMNS",
    "DEFAULT_METRIC_ACTIONS",
    "VivaInsightsConnector",
    "VivaInsightsHrConnector",
    "check_metric_actions",
]
