"""HR directory as SCIM 2.0 JSON (``hr/*.json``) -> ``hr_snapshots``.

Input: a SCIM ``ListResponse`` (``{"schemas": [...ListResponse], "Resources": [...]}``, one page
or all of them), a JSON array of User resources, or a single User resource. Several page files of
one extract may sit side by side (``scim_2026-01-05_p1.json``, ``..._p2.json``); a page that says
it holds fewer users than ``totalResults`` is logged.

Parsed by DuckDB's JSON functions (one query per file; values read with ``json_extract_string``,
so ``"active": "False"`` and ``"active": false`` both work). A file is held in memory whole by
DuckDB while it is read: SCIM exports are directory-sized, not event-sized.

Mapping (``E`` = the enterprise extension ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User``):

- ``employee_id`` = ``E.employeeNumber``, else the resource ``id``.
- ``upn`` = ``userName``; ``email`` = the ``emails`` entry with ``primary: true``, else the one of
  ``type: work``, else the first; ``aliases`` = the other ``emails`` values.
- ``display_name`` = ``displayName``, else ``name.formatted``, else ``name.givenName name.familyName``.
- ``department`` = ``E.department``; ``org_unit`` = ``E.costCenter``.
- ``manager_id``: ``E.manager.value`` (or ``managerId``, or a plain string) is the SCIM ``id`` of the
  manager's resource; it is translated to that resource's ``employee_id`` when the manager is in
  the same extract, and kept as given otherwise.
- ``site`` = ``locality`` of the primary (else work, else first) entry of ``addresses``, else
  ``E.division`` (some directories keep the site there); ``country`` = that address's ``country``;
  ``job_family`` = ``title`` (SCIM has no job family; the title is the nearest).
- ``active: false``: the user is not employed at the snapshot, and SCIM carries no termination date.
  Such users are left out of the snapshot (counted in the log as filtered, not quarantined: nothing
  is wrong with them), so the HR history ends their employment at the last extract that listed them
  as active; inventing a termination date (e.g. ``meta.lastModified``, often the export time) would
  overwrite the real one given by another HR source. ``level``, ``hire_date``, ``termination_date``
  and ``worker_type`` are not in SCIM (null).

``snapshot_date``: the ``YYYY-MM-DD`` date in the file name when there is one (deterministic and
chosen by whoever dropped the file), else the latest ``meta.lastModified`` of the file's resources.
A file with neither raises :class:`~pipelines.connectors.base.ConnectorError`.

Quarantined rows (``locator`` = ``<file> Resources[<i>]``, 0-based like a JSON path): a resource
that is not a JSON object, ``emails`` / ``addresses`` that are not lists, no ``employeeNumber``
and no ``id``, and every check of :func:`~pipelines.connectors.hr_csv.normalise_hr_rows`.
Unparseable JSON, an empty file or a folder named like a file raises
:class:`~pipelines.connectors.base.ConnectorError` naming the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import duckdb
import polars as pl

from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.config_files import join_text, rejects_frame
from pipelines.connectors.hr_csv import HrKeyTracker, normalise_hr_rows, snapshot_date_from_name
from transforms.contracts import HR_SNAPSHOTS

log = logging.getLogger(__name__)

SOURCE = "hr_scim"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#: DuckDB's JSON object size limit (a 32-bit size). The limit is set per file to its size, since
#: DuckDB allocates a buffer of that size up front.
MAX_FILE_BYTES = (1 << 31) - 1

_EMAILS_TYPE = '[{"value": "VARCHAR", "primary": "VARCHAR", "type": "VARCHAR"}]'
_ADDRESSES_TYPE = '[{"locality": "VARCHAR", "country": "VARCHAR", "primary": "VARCHAR", "type": "VARCHAR"}]'


def _enterprise(path: str) -> str:
    return f"json_extract_string(r, '$.\"{ENTERPRISE}\".{path}')"


def _pick(list_column: str) -> str:
    """SQL: the primary entry of a SCIM multi-valued list, else its work entry, else the first."""
    return (
        f"coalesce(list_filter({list_column}, e -> lower(e.primary) = 'true')[1], "
        f"list_filter({list_column}, e -> lower(e.type) = 'work')[1], {list_column}[1])"
    )


_RESOURCES_SQL = f"""
WITH doc AS (
    SELECT json AS j FROM read_json_objects($path, format = 'unstructured', maximum_object_size = __MAX_BYTES__)
),
pages AS (
    SELECT
        CASE
            WHEN json_type(j) = 'ARRAY' THEN json_extract(j, '$[*]')
            WHEN json_exists(j, '$.Resources') THEN coalesce(json_extract(j, '$.Resources[*]'), [])
            WHEN json_contains(coalesce(json_extract(j, '$.schemas'), '[]'), '"{LIST_RESPONSE}"') THEN []
            ELSE [j]
        END AS resources,
        TRY_CAST(json_extract_string(j, '$.totalResults') AS BIGINT) AS total_results
    FROM doc
),
raw AS (
    SELECT unnest(resources) AS r, unnest(range(len(resources))) AS i, total_results FROM pages
),
typed AS (
    SELECT
        i, r, total_results,
        json_type(r) = 'OBJECT' AS is_object,
        json_type(r, '$.emails') AS emails_type,
        json_type(r, '$.addresses') AS addresses_type
    FROM raw
),
fields AS (
    SELECT
        i, total_results,
        concat_ws('; ',
            CASE WHEN NOT is_object THEN 'resource: expected a JSON object, found ' || json_type(r) END,
            CASE WHEN is_object AND emails_type NOT IN ('ARRAY', 'NULL') THEN 'emails: expected a list of {{value, primary, type}}' END,
            CASE WHEN is_object AND addresses_type NOT IN ('ARRAY', 'NULL') THEN 'addresses: expected a list of {{locality, country, ...}}' END
        ) AS problems,
        CASE WHEN is_object THEN json_extract_string(r, '$.id') END AS scim_id,
        CASE WHEN is_object THEN {_enterprise('employeeNumber')} END AS employee_number,
        CASE WHEN is_object THEN json_extract_string(r, '$.userName') END AS upn,
        CASE WHEN is_object THEN coalesce(
            json_extract_string(r, '$.displayName'),
            json_extract_string(r, '$.name.formatted'),
            nullif(trim(concat_ws(' ', json_extract_string(r, '$.name.givenName'),
                                       json_extract_string(r, '$.name.familyName'))), '')
        ) END AS display_name,
        CASE WHEN is_object THEN lower(json_extract_string(r, '$.active')) END AS active,
        CASE WHEN is_object THEN json_extract_string(r, '$.title') END AS title,
        CASE WHEN is_object THEN {_enterprise('department')} END AS department,
        CASE WHEN is_object THEN {_enterprise('costCenter')} END AS org_unit,
        CASE WHEN is_object THEN {_enterprise('division')} END AS division,
        CASE WHEN is_object THEN coalesce(
            {_enterprise('manager.value')}, {_enterprise('manager.managerId')},
            CASE WHEN json_type(r, '$."{ENTERPRISE}".manager') = 'VARCHAR' THEN {_enterprise('manager')} END
        ) END AS manager_ref,
        CASE WHEN is_object THEN TRY_CAST(json_extract_string(r, '$.meta.lastModified') AS TIMESTAMPTZ) END
            AS last_modified,
        CASE WHEN emails_type = 'ARRAY' THEN from_json(json_extract(r, '$.emails'), '{_EMAILS_TYPE}') END AS emails,
        CASE WHEN addresses_type = 'ARRAY' THEN from_json(json_extract(r, '$.addresses'), '{_ADDRESSES_TYPE}') END
            AS addresses
    FROM typed
),
picked AS (
    SELECT *,
        ({_pick('emails')}).value AS email,
        ({_pick('addresses')}) AS address
    FROM fields
)
SELECT
    i, total_results, nullif(problems, '') AS problems, scim_id,
    coalesce(nullif(trim(employee_number), ''), nullif(trim(scim_id), '')) AS employee_id,
    upn, display_name, active, title, department, org_unit, manager_ref,
    CAST(timezone('UTC', last_modified) AS DATE) AS last_modified_date,
    email,
    list_filter(list_transform(emails, e -> e.value), v -> v IS DISTINCT FROM email) AS aliases,
    coalesce(address.locality, division) AS site,
    address.country AS country
FROM picked
ORDER BY i
"""


class HrScimConnector(Connector):
    """HR directory as SCIM 2.0 User resources (ListResponse pages or arrays)."""

    name: ClassVar[str] = SOURCE
    title: ClassVar[str] = "HR directory (SCIM 2.0 JSON)"
    kind = "hr"
    yields: ClassVar[tuple[TableName, ...]] = ("hr_snapshots",)
    cannot_see: ClassVar[tuple[str, ...]] = ()
    #: hr/canonical/ holds the generic HR source's (hr_csv) canonical extracts, not this one's
    reads_canonical: ClassVar[bool] = False
    reads: ClassVar[str] = (
        "hr/*.json SCIM 2.0 ListResponse pages or arrays of User resources (core + enterprise extension); "
        "snapshot date from the file name, else the latest meta.lastModified"
    )

    def recognises(self, path: Path) -> bool:
        return path.suffix.lower() == ".json"  # a folder named like one is reported by read()

    def read(self, path: Path) -> Iterator[Batch]:
        yield from self._read(Path(path), HrKeyTracker())

    def read_drop_zone(self, drop_zone: Path) -> Iterator[Batch]:
        tracker = HrKeyTracker()
        for path in self.inputs(drop_zone):
            yield from self._read(path, tracker)

    def _read(self, path: Path, tracker: HrKeyTracker) -> Iterator[Batch]:
        label = str(path)
        frame = read_scim_resources(path)
        if frame.height and frame["total_results"][0] is not None and frame["total_results"][0] > frame.height:
            log.warning("%s: holds %d of %d users (one page of a paged export?)", label, frame.height,
                        frame["total_results"][0])
        snapshot = snapshot_date_from_name(path)
        if snapshot is None:
            snapshot = frame["last_modified_date"].max() if frame.height else None
            if snapshot is None:
                raise ConnectorError(
                    "no snapshot date: name the file with its extract date (e.g. scim_2026-01-05.json) "
                    "or give the resources meta.lastModified",
                    file=label,
                )
            log.info("%s: snapshot date %s from the latest meta.lastModified", label, snapshot)
        locator = join_text(f"{path.name} Resources[", pl.col("i").cast(pl.Utf8), "]")
        broken = frame.filter(pl.col("problems").is_not_null())
        frame = frame.filter(pl.col("problems").is_null())
        inactive = frame.filter(pl.col("active") == "false").height
        if inactive:
            log.info("%s: %d inactive user(s) (active: false) left out of the snapshot", label, inactive)
        ids = frame.select(pl.col("scim_id").alias("manager_ref"), pl.col("employee_id").alias("__manager_employee_id"))
        ids = ids.filter(pl.col("manager_ref").is_not_null()).unique("manager_ref", keep="first", maintain_order=True)
        rows = frame.join(ids, on="manager_ref", how="left", maintain_order="left").select(
            pl.lit(snapshot).alias("snapshot_date"),
            "employee_id",
            "email",
            "upn",
            "aliases",
            "display_name",
            pl.coalesce("__manager_employee_id", "manager_ref").alias("manager_id"),
            "department",
            "org_unit",
            "site",
            "country",
            pl.col("title").alias("job_family"),
            pl.lit(path.name).alias("source_file"),
            locator.alias("__locator"),
            pl.col("active"),
        )
        # the manager map above still includes inactive users: a report may name a manager who left
        rows = rows.filter(pl.col("active").ne_missing("false")).drop("active")
        good, rejects = normalise_hr_rows(rows, file=label, source=SOURCE, tracker=tracker, locator=pl.col("__locator"))
        structural = rejects_frame(broken, contract=HR_SNAPSHOTS.name, file=label, source=SOURCE,
                                   reason=pl.col("problems"), locator=locator,
                                   excerpt=join_text("id=", pl.col("scim_id")))
        rejects = pl.concat([structural, rejects])
        log.info("%s: %d HR row(s) kept, %d quarantined", label, good.height, rejects.height)
        if good.height:
            yield Batch("hr_snapshots", good)
        if rejects.height:
            yield Batch("rejects", rejects)


def _blank(path: Path, probe: int = 1 << 16) -> bool:
    """Whether a file holds nothing but blanks (and a BOM); only small files are read to tell."""
    if path.stat().st_size > probe:
        return False
    return not path.read_bytes().strip(b" \t\r\n\xef\xbb\xbf")


def read_scim_resources(path: Path) -> pl.DataFrame:
    """One row per SCIM resource of ``path`` with the fields the mapping needs (see the module
    docstring), its 0-based index ``i`` and ``problems`` (null when the resource is well-formed)."""
    if path.is_dir():
        raise ConnectorError("is a folder; expected a SCIM 2.0 JSON export (a file)", file=str(path))
    if not path.is_file():
        raise ConnectorError("file not found; expected a SCIM 2.0 JSON export", file=str(path))
    if _blank(path):
        raise ConnectorError("file is empty; expected a SCIM 2.0 JSON export (a ListResponse, an array of "
                             "Users or one User)", file=str(path))
    size = path.stat().st_size + 1024
    if size > MAX_FILE_BYTES:
        raise ConnectorError(f"file is larger than {MAX_FILE_BYTES} bytes; split it into pages", file=str(path))
    con = duckdb.connect()
    try:
        sql = _RESOURCES_SQL.replace("__MAX_BYTES__", str(max(size, 1 << 20)))
        frame = con.execute(sql, {"path": str(path)}).pl()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConnectorError(f"cannot read as SCIM JSON: {first}", file=str(path)) from exc
    finally:
        con.close()
    return frame


__all__ = ["HrScimConnector", "read_scim_resources"]

