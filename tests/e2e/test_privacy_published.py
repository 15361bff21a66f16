"""Privacy of everything uptake publishes (DESIGN.md, "Privacy"; issue 12 point 6), on the simulated
organisation run end to end through the CLI (``tests/conftest.py``: ``simulated_run``).

What is scanned: every ``marts.*`` table of the warehouse, every published Parquet file and JSON
file (``published/``), and the HTML report. What must not be there:

- any email address, display name or employee id found in the inputs (HR extracts, SCIM, platform
  user lists, message senders, usage reports), nor any message text (every distinct message of
  4 words or more in the Slack, Viva Engage and Mattermost exports);
- a published group smaller than ``min_group_size``: a row that is not suppressed must have at
  least ``min_group_size`` people in each of its size columns (its denominator, each arm of a
  comparison), or no values at all;
- differencing: for the marts that split the organisation into populations, the organisation's
  total minus the populations shown must be 0 or at least ``min_group_size`` people, so a
  suppressed cell cannot be recovered by subtraction.

The inputs are read here independently of the connectors (plain ``csv``/``json``/``zipfile``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from pipelines.locations import published_dir
from tests.conftest import SimulatedRun

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
WORD = re.compile(r"\w+")
#: Messages shorter than this are too generic ("Thanks!") to be told apart from report prose.
MIN_TEXT_WORDS = 4

#: Size columns of each published mart: every row that is not suppressed needs at least
#: ``min_group_size`` people in each (0 is allowed where stated: a count of nobody reveals nobody).
SIZE_COLUMNS: dict[str, tuple[str, ...]] = {
    "adoption_curve": ("eligible",),
    "community_activity": ("active_people",),
    "digital_divide": ("reference_eligible", "focus_eligible"),
    "diffusion": ("headcount",),
    "inequality": ("eligible",),
    "leader_activity": ("leaders",),
    "leader_reach": ("eligible", "leaders"),
    "lifecycle": ("eligible",),
    "manager_relay": ("members_manager_active", "members_manager_inactive"),
    "next_wave_candidates": ("headcount",),
    "next_wave_options": ("headcount",),
    "non_users": ("eligible",),
    "perception": ("respondents",),
    "perception_activity_link": ("respondents",),
    "perception_pilot_effect": ("n_treated", "n_control"),
    "pilot_effects": ("n_treated", "n_control"),
    "pilot_power": ("n_treated", "n_control"),
    "pilot_representativeness": ("pilot_n", "population_n"),
    "retention": ("cohort_size",),
    "stickiness": ("eligible",),
    "target_status": ("group_size",),  # null for output targets: outputs are counted, not people
    "team_uptake_by_manager": ("members_manager_active", "members_manager_inactive"),
    "time_to_first_activity": ("people",),
    "usage_segments": ("eligible",),
}
#: Values that describe a sub-group of a row (e.g. contributors among eligible people) and so
#: need that sub-group to reach ``min_group_size`` too: mart -> {value column: its size column}.
SUBGROUP_VALUES: dict[str, dict[str, str]] = {
    "inequality": {"gini_contributors": "contributors"},
}
#: Marts that split the organisation into populations: the keys that identify one published total
#: besides ``population_type``, and the size column.
PARTITIONED: dict[str, tuple[tuple[str, ...], str]] = {
    "adoption_curve": (("week_start",), "eligible"),
    "lifecycle": (("week_start",), "eligible"),
    "usage_segments": (("week_start",), "eligible"),
    "stickiness": (("week_start",), "eligible"),
    "non_users": (("as_of_week",), "eligible"),
    "inequality": (("period_start", "period_end"), "eligible"),
    "time_to_first_activity": ((), "people"),
    "perception": (("survey_id", "wave", "question_id"), "respondents"),
}
#: Person-level marts: one row per pseudonymous person, not aggregates (no group size applies).
PERSON_LEVEL = frozenset({"person_week", "person_week_source"})
#: Columns of marts that hold people or groups counted in other units (teams, KPI units).
NOT_PEOPLE = frozenset({"kpi_activity_link", "community_outputs", "community_flags", "diffusion_projection",
                        "outcome_kpis"})


# ----- what the inputs hold ---------------------------------------------------------------------------


@dataclass
class Identities:
    emails: set[str] = field(default_factory=set)
    names: set[tuple[str, ...]] = field(default_factory=set)  # lower-cased word tuples, 2+ words
    ids: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)

    def add_name(self, name: str | None) -> None:
        words = tuple(WORD.findall((name or "").lower()))
        if len(words) >= 2:
            self.names.add(words)

    def add_email(self, value: str | None) -> None:
        self.emails.update(e.lower() for e in EMAIL.findall(value or ""))

    def add_text(self, text: str | None) -> None:
        if text and len(text.split()) >= MIN_TEXT_WORDS:
            self.texts.add(text.strip())


def _rows(data: bytes) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(io.StringIO(data.decode("utf-8-sig")))


def _files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of a file, of every file under a folder, or of every member of a zip."""
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                yield from _files(p)
    elif path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.is_dir():
                    yield info.filename, z.read(info)
    else:
        yield path.name, path.read_bytes()


def input_identities(raw: Path) -> Identities:
    found = Identities()
    for name, data in _files(raw):
        if name.endswith((".csv", ".json", ".jsonl", ".ldif", ".yaml")):
            found.add_email(data.decode("utf-8", "replace"))
    for p in sorted((raw / "hr").glob("*.csv")):
        for row in _rows(p.read_bytes()):
            found.add_name(row.get("display_name"))
            found.ids.add(row["employee_id"])
    for p in sorted((raw / "hr").glob("*.json")):
        doc = json.loads(p.read_text())
        for user in doc.get("Resources", doc if isinstance(doc, list) else [doc]):
            found.add_name(user.get("displayName"))
    platforms = raw / "platforms"
    for name, data in _files(platforms / "slack"):
        if not name.endswith(".json"):
            continue
        doc = json.loads(data)
        if name.endswith("users.json"):
            for user in doc:
                found.add_name(user.get("real_name"))
                found.add_name((user.get("profile") or {}).get("real_name"))
        elif isinstance(doc, list):
            for message in doc:
                if isinstance(message, dict):
                    found.add_text(message.get("text"))
    for name, data in _files(platforms / "viva_engage"):
        if name.endswith("Users.csv"):
            for row in _rows(data):
                found.add_name(row.get("name"))
        elif name.endswith("Messages.csv"):
            for row in _rows(data):
                found.add_name(row.get("sender_name"))
                found.add_text(row.get("body"))
    for _, data in _files(platforms / "mattermost"):
        for line in data.splitlines():
            obj = json.loads(line)
            if obj.get("type") == "user":
                user = obj["user"]
                found.add_name(f"{user.get('first_name', '')} {user.get('last_name', '')}")
            for kind in ("post", "direct_post"):
                if obj.get("type") == kind:
                    found.add_text(obj[kind].get("message"))
                    for reply in obj[kind].get("replies") or []:
                        found.add_text(reply.get("message"))
    for _, data in _files(platforms / "m365_usage"):
        for row in _rows(data):
            found.add_name(row.get("Display Name"))
    for _, data in _files(raw / "surveys"):  # pulse surveys: respondents' names and free-text answers
        for row in _rows(data):
            found.add_name(row.get("Name"))
            for value in row.values():
                if value and not value.strip().lstrip("-").isdigit():
                    found.add_text(value)
    return found


# ----- what was published -------------------------------------------------------------------------------


def _strings(frame: pl.DataFrame) -> set[str]:
    """Every distinct string of a frame: its column names and its string (and list-of-string) values."""
    out = set(frame.columns)
    for col, dtype in frame.schema.items():
        if dtype == pl.Utf8:
            out.update(frame[col].drop_nulls().unique().to_list())
        elif dtype == pl.List(pl.Utf8):
            out.update(frame[col].explode().drop_nulls().unique().to_list())
    return out


def leaks(strings: Iterable[str], found: Identities) -> dict[str, list[str]]:
    """The input identities and texts present in ``strings`` (by kind)."""
    strings = list(strings)
    joined = "\n".join(strings)
    lowered = joined.lower()
    grams: set[tuple[str, ...]] = set()
    for s in strings:
        words = WORD.findall(s.lower())
        for n in {len(name) for name in found.names}:
            grams.update(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    tokens = set(WORD.findall(joined))
    return {
        "emails": sorted({e.lower() for e in EMAIL.findall(lowered)} & found.emails),
        "names": sorted(" ".join(n) for n in found.names & grams),
        "employee_ids": sorted(found.ids & (tokens | set(strings))),
        "texts": sorted(t for t in found.texts if t in joined),
    }


def published_frames(run: SimulatedRun) -> dict[str, pl.DataFrame]:
    base = published_dir(run.warehouse)
    frames = {f"{p.parent.name}.{p.stem}": pl.read_parquet(p) for p in sorted(base.glob("*/*.parquet"))}
    assert frames, f"nothing published in {base}"
    return frames


def min_group_size(run: SimulatedRun) -> int:
    settings = json.loads((published_dir(run.warehouse) / "config" / "settings.json").read_text())
    return int(settings["min_group_size"])


@pytest.fixture(scope="module")
def identities(simulated_run: SimulatedRun) -> Identities:
    found = input_identities(simulated_run.raw)
    # the scan is only as good as what it looks for: the simulated organisation has all of these
    assert len(found.emails) > 100 and len(found.names) > 100 and len(found.ids) > 100
    assert len(found.texts) > 20
    return found


# ----- the tests ------------------------------------------------------------------------------------------


def test_marts_hold_no_email_name_id_or_message_text(simulated_run: SimulatedRun, identities: Identities) -> None:
    with simulated_run.connect() as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
        strings: set[str] = set()
        for table in tables:
            strings |= _strings(con.execute(f'SELECT * FROM marts."{table}"').pl())
    assert len(tables) >= 10
    found = leaks(strings, identities)
    assert found == {"emails": [], "names": [], "employee_ids": [], "texts": []}


def test_published_files_hold_no_email_name_id_or_message_text(simulated_run: SimulatedRun,
                                                               identities: Identities) -> None:
    base = published_dir(simulated_run.warehouse)
    strings: set[str] = set()
    for frame in published_frames(simulated_run).values():
        strings |= _strings(frame)
    for path in sorted(base.rglob("*.json")):
        strings.add(path.read_text(encoding="utf-8"))
    assert not (base / "quality" / "rejects.parquet").exists(), "row-level rejects are never published"
    found = leaks(strings, identities)
    assert found == {"emails": [], "names": [], "employee_ids": [], "texts": []}


def test_report_holds_no_email_name_id_or_message_text(simulated_run: SimulatedRun, identities: Identities) -> None:
    reports = sorted(simulated_run.reports.glob("*.html"))
    assert reports
    for report in reports:
        html = report.read_text(encoding="utf-8")
        # plotly.js itself (megabytes of library code) is not data: leave it out of the scan
        html = re.sub(r"<script[^>]*>\s*/\*\*?\s*\n?\s*\* plotly\.js.*?</script>", "", html, flags=re.DOTALL)
        found = leaks([html], identities)
        assert found == {"emails": [], "names": [], "employee_ids": [], "texts": []}, report.name


def test_the_scan_finds_what_it_looks_for(identities: Identities) -> None:
    """The control: planted identities in a haystack are found (so an empty result means something)."""
    email = sorted(identities.emails)[0]
    name = " ".join(sorted(identities.names)[0]).title()
    employee = sorted(identities.ids)[0]
    text = sorted(identities.texts)[0]
    found = leaks([f"see {email}", f"<td>{name}</td>", employee, f"quote: {text}"], identities)
    assert found["emails"] == [email] and found["names"] == [name.lower()]
    assert found["employee_ids"] == [employee] and found["texts"] == [text]


def _small_group_violations(table: str, frame: pl.DataFrame, k: int) -> list[str]:
    sizes = [c for c in SIZE_COLUMNS.get(table, ()) if c in frame.columns]
    assert sizes or table not in SIZE_COLUMNS, f"{table}: none of its size columns {SIZE_COLUMNS[table]}"
    shown = frame.filter(~pl.col("suppressed").fill_null(False)) if "suppressed" in frame.columns else frame
    value_cols = [c for c, t in frame.schema.items()
                  if t.is_numeric() and c not in sizes and c not in ("wave", "lag_weeks", "event_time", "weeks_since")]
    has_values = pl.any_horizontal([pl.col(c).is_not_null() for c in value_cols]) if value_cols else pl.lit(True)
    problems = []
    for size in sizes:
        small = shown.filter(has_values & (pl.col(size).fill_null(0) > 0) & (pl.col(size).fill_null(0) < k))
        if table == "community_activity":  # a week with nobody active describes nobody
            small = small.filter(pl.col(size) > 0)
        if small.height:
            problems.append(f"{table}: {small.height} row(s) shown with {size} < {k}: {small.head(3).to_dicts()}")
    for value, size in SUBGROUP_VALUES.get(table, {}).items():
        bad = shown.filter(pl.col(value).is_not_null() & (pl.col(size) < k))
        if bad.height:
            problems.append(f"{table}: {value} shown for {bad.height} row(s) with {size} < {k}")
    return problems


def test_no_published_group_is_smaller_than_min_group_size(simulated_run: SimulatedRun) -> None:
    k = min_group_size(simulated_run)
    frames = published_frames(simulated_run)
    marts = {name.split(".", 1)[1]: f for name, f in frames.items() if name.startswith("marts.")}
    unknown = set(marts) - set(SIZE_COLUMNS) - PERSON_LEVEL - NOT_PEOPLE
    assert not unknown, f"published marts without a declared size column (add them to SIZE_COLUMNS): {unknown}"
    problems = [p for table, frame in sorted(marts.items()) for p in _small_group_violations(table, frame, k)]
    assert problems == []
    assert marts["adoption_curve"].filter(pl.col("suppressed")).height > 0, "the run suppresses nothing: weak test"


def test_person_level_marts_carry_only_pseudonyms(simulated_run: SimulatedRun, identities: Identities) -> None:
    marts = published_frames(simulated_run)
    keys = set(marts["marts.person_week"]["person_key"].to_list())
    assert keys and not keys & identities.ids
    assert all(re.fullmatch(r"[0-9a-f]{16,}", k) for k in list(keys)[:100]), list(keys)[:3]


def test_suppressed_cells_cannot_be_recovered_by_subtraction(simulated_run: SimulatedRun) -> None:
    k = min_group_size(simulated_run)
    frames = published_frames(simulated_run)
    problems = []
    for table, (keys, size) in PARTITIONED.items():
        frame = frames[f"marts.{table}"]
        cells = frame.unique([*keys, "population_type", "population"]).select(
            *keys, "population_type", "population", size, pl.col("suppressed").fill_null(False))
        total = cells.filter(pl.col("population_type") == "organisation").select(
            *keys, pl.col(size).alias("__total"))
        shown = (
            cells.filter((pl.col("population_type") != "organisation") & ~pl.col("suppressed"))
            .group_by(*keys, "population_type").agg(pl.col(size).sum().alias("__shown"))
        )
        hidden_parts = cells.filter(pl.col("suppressed")).group_by(*keys, "population_type").agg(
            pl.len().alias("__hidden_cells"))
        check = (
            shown.join(total, on=list(keys), how="inner") if keys else shown.join(total, how="cross")
        ).join(hidden_parts, on=[*keys, "population_type"], how="left").with_columns(
            (pl.col("__total") - pl.col("__shown")).alias("__remainder"))
        # a remainder of 1 to k-1 people would be a suppressed cell (or its sum) recovered by subtraction
        bad = check.filter((pl.col("__remainder") > 0) & (pl.col("__remainder") < k)
                           & pl.col("__hidden_cells").is_not_null())
        if bad.height:
            problems.append(f"{table}: {bad.height} total(s) minus shown cells leave 1..{k - 1} people: "
                            f"{bad.head(3).to_dicts()}")
    assert problems == []
