"""Pulse-survey exports (``surveys/*.csv``) -> ``survey_responses``, and ``survey_text_dropped``.

What people say the platform brings them (metric kind *perception*). Every answer is read against
the survey registry ``surveys.yaml`` at the drop zone's root (``transforms.contracts.config.Surveys``:
each survey's waves and questions, each question's scale and direction). Two layouts, told apart
by the header:

- **long** (documented; any survey tool or a small script can write it), one row per answer:
  ``respondent_id`` and/or ``respondent_email``, ``responded_at``, ``question_id``, ``answer``,
  and optionally ``response_id`` and ``survey_id``.
- **forms export** (wide: Microsoft Forms, Google Forms), one row per response: metadata columns
  recognised by their header (:data:`ID_HEADERS`, :data:`TIME_HEADERS`, :data:`EMAIL_HEADERS`,
  :data:`EMPLOYEE_ID_HEADERS`; ``Name``, ``Last modified time`` and quiz columns are dropped), and
  one column per question, mapped to ``surveys.yaml`` by header: the question's ``text`` or one of
  its ``headers``, compared without case and with blanks collapsed. Every question column of one
  file must belong to one survey.

Values:

- ``answer``: an integer of the question's scale (Likert 1-5 or 1-7, NPS 0-10), or for a Likert
  question one of its labels (``Agree``; case-insensitive), which is what forms exports write.
- ``responded_at``: ISO 8601 (``2026-03-02``, ``2026-03-02T09:15:00+01:00``), or a slashed date
  (``3/2/2026 9:15:00``, what forms exports write) read in the survey's ``date_order``
  (``month_first`` by default, ``day_first`` for exports in a day-first locale). The day is taken
  as written (the export's own clock); it must fall in one of the survey's waves.
- the respondent: ``respondent_id`` (an employee id) and/or an e-mail or UPN (lower-cased;
  ``anonymous``, what Microsoft Forms writes for anonymous responses, counts as none). The identity
  layer joins them to HR (``transforms.identity.resolve_respondents``).
- ``response_id`` (one respondent's submission): ``<wave>:<the export's id or the day>:<respondent>``,
  stable across re-exports of the same responses.

**No free text past this module**: answers to ``free_text`` questions, and every answer of a forms
column that no question of ``surveys.yaml`` names, are dropped and counted per file and question
(``survey_text_dropped``); rejects carry identifiers only, never an answer.

Quarantined rows (``REJECTS``, ``"<file> line <n>"``; a forms export's cell adds ``, <question_id>``):
an unknown or empty ``question_id``, an ``answer`` outside the scale or not one of its labels, an
unreadable or implausible date, a date in no wave of the survey, a ``survey_id`` other than the
question's, no respondent (an anonymous answer cannot be joined to HR), and a repeated
(``response_id``, ``question_id``) (the first row read wins; files in name order). A file whose
header is neither layout, a forms export without a time or respondent column or whose questions
belong to several surveys, and survey files without ``surveys.yaml`` raise :class:`ConnectorError`
naming the file.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import polars as pl

from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.config_files import (
    DEFAULT_BATCH_ROWS,
    LINE_COLUMN,
    SURVEYS_FILE,
    conform_rows,
    iter_csv_batches,
    join_text,
    line_locator,
    load_surveys,
    rejects_frame,
)
from transforms.contracts import REJECTS, SURVEY_RESPONSES, SURVEY_TEXT_DROPPED
from transforms.contracts.config import Surveys, fold_header
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE, FREE_TEXT, LATEST_PLAUSIBLE, SURVEY_SCALES

log = logging.getLogger(__name__)

#: Columns of the long layout (``respondent_id`` or ``respondent_email``, or both, are needed too).
LONG_COLUMNS: tuple[str, ...] = ("responded_at", "question_id", "answer")
LONG_RESPONDENT_COLUMNS: tuple[str, ...] = ("respondent_id", "respondent_email")
LONG_OPTIONAL_COLUMNS: tuple[str, ...] = ("response_id", "survey_id")

#: Headers of a forms export's metadata columns (compared without case), most specific first.
ID_HEADERS: tuple[str, ...] = ("id", "response id", "responseid", "response_id")
TIME_HEADERS: tuple[str, ...] = ("completion time", "submitted at", "submission time", "timestamp", "end time",
                                 "start time", "responded_at")
EMAIL_HEADERS: tuple[str, ...] = ("email", "email address", "e-mail", "e-mail address", "username",
                                  "respondent email", "respondent_email")
EMPLOYEE_ID_HEADERS: tuple[str, ...] = ("employee id", "employee_id", "employeeid", "respondent_id")
#: Metadata a forms export carries that is never read (names are personal data; quiz fields are not answers).
IGNORED_HEADERS: tuple[str, ...] = ("name", "last modified time", "total points", "quiz feedback", "points",
                                    "feedback")
#: Respondent values that identify nobody (Microsoft Forms' anonymous responses).
ANONYMOUS = ("anonymous", "anonyme", "anónimo", "anonym")

_DATE_CHARS = re.compile(r"^[0-9/:.T Z+,APMapm-]{1,32}$")


_fold = fold_header


def _fold_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`~transforms.contracts.config.fold_header` on a string column."""
    return expr.str.replace_all(r"\s+", " ").str.strip_chars().str.strip_chars_end(":").str.strip_chars() \
        .str.to_lowercase()


class _SeenKeys:
    """The (response_id, question_id) pairs already yielded, to quarantine repeats across batches and files."""

    KEY = ("response_id", "question_id")

    def __init__(self) -> None:
        self._seen = pl.DataFrame(schema={k: pl.Utf8 for k in self.KEY})

    def split(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``(first occurrences, repeats)`` of ``frame``'s keys, given every key seen before."""
        key = list(self.KEY)
        first = frame.select(pl.struct(key).is_first_distinct()).to_series()
        before = frame.select(key).join(self._seen.with_columns(pl.lit(True).alias("__seen")), on=key, how="left",
                                        maintain_order="left")["__seen"].fill_null(False)
        fresh = first & ~before
        new = frame.filter(fresh)
        self._seen = pl.concat([self._seen, new.select(key)])
        return new, frame.filter(~fresh)


class _Registry:
    """``surveys.yaml`` as the small frames the parsing joins: questions, Likert labels, waves."""

    def __init__(self, surveys: Surveys) -> None:
        self.surveys = surveys
        rows = [
            {"question_id": q.id, "__survey": s.id, "__scale": q.scale, "__free": not q.is_scaled,
             "__low": SURVEY_SCALES.get(q.scale, (None, None))[0], "__high": SURVEY_SCALES.get(q.scale, (None, None))[1],
             "__day_first": s.date_order == "day_first"}
            for s in surveys.surveys for q in s.questions
        ]
        self.questions = pl.DataFrame(rows, schema={"question_id": pl.Utf8, "__survey": pl.Utf8, "__scale": pl.Utf8,
                                                    "__free": pl.Boolean, "__low": pl.Int64, "__high": pl.Int64,
                                                    "__day_first": pl.Boolean})
        self.labels = pl.DataFrame(
            [{"question_id": q.id, "__label": _fold(label), "__point": SURVEY_SCALES[q.scale][0] + i}
             for s in surveys.surveys for q in s.questions for i, label in enumerate(q.answer_labels())],
            schema={"question_id": pl.Utf8, "__label": pl.Utf8, "__point": pl.Int64},
        )
        self.headers: dict[str, tuple[str, str]] = {
            _fold(h): (s.id, q.id) for s in surveys.surveys for q in s.questions for h in (q.text, *q.headers)
        }

    def wave_expr(self, survey: pl.Expr, day: pl.Expr) -> pl.Expr:
        """The wave of each row's survey whose dates hold its day (null when none does)."""
        expr: pl.Expr | None = None
        for s in self.surveys.surveys:
            for w in s.waves:
                cond = (survey == s.id) & (day >= w.opens) & (day <= w.closes)
                expr = pl.when(cond).then(pl.lit(w.name)) if expr is None else expr.when(cond).then(pl.lit(w.name))
        return expr.otherwise(None) if expr is not None else pl.lit(None, dtype=pl.Utf8)


def _blank_to_null(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Utf8).str.strip_chars().replace("", None).alias(col)


def parse_response_day(raw: pl.Expr, day_first: pl.Expr) -> pl.Expr:
    """The day of a response time: ISO 8601 (date, or date and time with an optional zone; the date
    as written) or a slashed ``M/D/YYYY [H:MM[:SS] [AM|PM]]`` read day first where ``day_first``."""
    iso = raw.str.extract(
        r"^(\d{4}-\d{2}-\d{2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?$", 1)
    parts = raw.str.extract_groups(
        r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:,?\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AaPp]\.?[Mm]\.?)?)?$")
    first, second, year = (parts.struct.field(str(i)) for i in (1, 2, 3))
    month = pl.when(day_first).then(second).otherwise(first)
    day = pl.when(day_first).then(first).otherwise(second)
    slashed = pl.concat_str([year, pl.lit("-"), month.str.zfill(2), pl.lit("-"), day.str.zfill(2)])
    return pl.coalesce(iso, slashed).str.to_date("%Y-%m-%d", strict=False)


class PulseSurveyConnector(Connector):
    """Pulse-survey answers (long CSV or a Microsoft Forms / Google Forms export) read against surveys.yaml."""

    name: ClassVar[str] = "pulse_survey"
    title: ClassVar[str] = "Pulse surveys (long CSV, Microsoft Forms / Google Forms exports)"
    kind = "survey"
    yields: ClassVar[tuple[TableName, ...]] = ("survey_responses", "survey_text_dropped")
    cannot_see: ClassVar[tuple[str, ...]] = ()
    reads: ClassVar[str] = (
        "surveys/*.csv: the long layout (respondent, responded_at, question_id, answer) or a forms export "
        "mapped by header, read against surveys.yaml; free-text answers dropped and counted"
    )
    reads_canonical: ClassVar[bool] = False

    def __init__(self, surveys: Surveys | None = None, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.surveys = surveys
        self.batch_rows = batch_rows

    def recognises(self, path: Path) -> bool:
        return path.suffix.lower() == ".csv"  # a folder named like one is reported by read()

    def _registry(self, drop_zone: Path) -> _Registry:
        if self.surveys is not None:
            return _Registry(self.surveys)
        path = Path(drop_zone) / SURVEYS_FILE
        if not path.is_file():
            raise ConnectorError(
                f"survey exports in surveys/ need the survey registry {SURVEYS_FILE} at the drop zone's root "
                "(each survey's waves and questions; see docs/drop_zone.md)", file=str(path))
        return _Registry(load_surveys(path))

    def read(self, path: Path) -> Iterator[Batch]:
        path = Path(path)
        yield from self._read(path, self._registry(path.parent.parent), _SeenKeys())

    def read_drop_zone(self, drop_zone: Path) -> Iterator[Batch]:
        inputs = self.inputs(drop_zone)
        if not inputs:
            return
        registry, seen = self._registry(Path(drop_zone)), _SeenKeys()
        for path in inputs:
            yield from self._read(path, registry, seen)

    # --- one file ----------------------------------------------------------------------------------

    def _read(self, path: Path, registry: _Registry, seen: _SeenKeys) -> Iterator[Batch]:
        label = str(path)
        dropped: Counter[tuple[str | None, str, str]] = Counter()
        kept = rejected = 0
        layout: _Layout | None = None
        for batch in iter_csv_batches(path, label=label, batch_rows=self.batch_rows, what="a survey export"):
            if layout is None:
                layout = _layout(batch.columns, registry, label)
            answers = layout.answers(batch)
            for (survey, question, reason), n in layout.unread(batch).items():
                dropped[(survey, question, reason)] += n
            good, bad, free = _canonical(answers, registry, path.name, label, self.name, seen)
            for (survey, question), n in free.items():
                dropped[(survey, question, "free_text")] += n
            kept += good.height
            rejected += bad.height
            if good.height:
                yield Batch("survey_responses", good)
            if bad.height:
                yield Batch("rejects", bad)
        counts = pl.DataFrame(
            [{"source": self.name, "survey_id": s, "question_id": q, "reason": r, "answers_dropped": n,
              "source_file": path.name} for (s, q, r), n in sorted(dropped.items(), key=lambda kv: (kv[0][1], kv[0][2]))
             if n],
            schema=SURVEY_TEXT_DROPPED.schema,
        )
        if counts.height:
            yield Batch("survey_text_dropped", counts)
        log.info("%s: %d answer(s) kept, %d quarantined, %d dropped unread (free text or unknown column)",
                 label, kept, rejected, int(counts["answers_dropped"].sum()) if counts.height else 0)


# --- layouts: from the file's rows to one row per answer ------------------------------------------------

#: Columns of the per-answer frame both layouts produce (strings, plus the line and a locator suffix).
ANSWER_COLUMNS: tuple[str, ...] = ("question_id", "answer", "respondent_id", "respondent_email", "responded_at",
                                   "response_ref", "survey_hint", "__suffix")


class _Layout:
    def answers(self, batch: pl.DataFrame) -> pl.DataFrame:
        raise NotImplementedError

    def unread(self, batch: pl.DataFrame) -> Counter[tuple[str | None, str, str]]:
        return Counter()


class _LongLayout(_Layout):
    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = set(columns)

    def _col(self, name: str) -> pl.Expr:
        return pl.col(name) if name in self.columns else pl.lit(None, dtype=pl.Utf8)

    def answers(self, batch: pl.DataFrame) -> pl.DataFrame:
        return batch.select(
            self._col("question_id").alias("question_id"), self._col("answer").alias("answer"),
            self._col("respondent_id").alias("respondent_id"), self._col("respondent_email").alias("respondent_email"),
            self._col("responded_at").alias("responded_at"), self._col("response_id").alias("response_ref"),
            self._col("survey_id").alias("survey_hint"), pl.lit("", dtype=pl.Utf8).alias("__suffix"),
            pl.col(LINE_COLUMN),
        ).with_columns(_blank_to_null(c) for c in ANSWER_COLUMNS if c != "__suffix")


class _FormsLayout(_Layout):
    def __init__(self, columns: Sequence[str], registry: _Registry, label: str) -> None:
        headers = [c for c in columns if c != LINE_COLUMN]
        folded = {c: _fold(c) for c in headers}

        def first(candidates: tuple[str, ...]) -> str | None:
            return next((c for want in candidates for c in headers if folded[c] == want), None)

        self.id_col = first(ID_HEADERS)
        self.time_col = first(TIME_HEADERS)
        self.email_col = first(EMAIL_HEADERS)
        self.employee_col = first(EMPLOYEE_ID_HEADERS)
        meta = {self.id_col, self.time_col, self.email_col, self.employee_col}
        self.questions: dict[str, tuple[str, str]] = {}
        self.unnamed: dict[str, int] = {}
        for position, c in enumerate(headers, start=1):
            if c in meta or folded[c] in TIME_HEADERS or folded[c] in IGNORED_HEADERS \
                    or folded[c].startswith(("points - ", "feedback - ")):
                continue
            if folded[c] in registry.headers:
                self.questions[c] = registry.headers[folded[c]]
            else:
                self.unnamed[c] = position
        if not self.questions:
            raise ConnectorError(
                f"neither a long survey CSV (columns {', '.join(LONG_COLUMNS)} and respondent_id or respondent_email) "
                f"nor a forms export with a column named after a question of {SURVEYS_FILE}", file=label,
                locator="line 1")
        surveys = sorted({s for s, _ in self.questions.values()})
        if len(surveys) > 1:
            raise ConnectorError(f"columns of several surveys of {SURVEYS_FILE} in one export ({', '.join(surveys)}); "
                                 "expected one survey per file", file=label, locator="line 1")
        if self.time_col is None:
            raise ConnectorError("a forms export without a time column; expected one of "
                                 f"{', '.join(h.title() for h in TIME_HEADERS[:4])}", file=label, locator="line 1")
        if self.email_col is None and self.employee_col is None:
            raise ConnectorError("a forms export without a respondent column (Email, Employee ID): its answers "
                                 "cannot be joined to HR", file=label, locator="line 1")
        self.survey = surveys[0]
        if self.unnamed:
            log.warning("%s: %d column(s) name no question of %s; their answers are dropped (counted): columns %s",
                        label, len(self.unnamed), SURVEYS_FILE, ", ".join(str(p) for p in self.unnamed.values()))

    def answers(self, batch: pl.DataFrame) -> pl.DataFrame:
        def meta(col: str | None) -> pl.Expr:
            return pl.col(col).cast(pl.Utf8) if col is not None else pl.lit(None, dtype=pl.Utf8)

        frames = [
            batch.select(
                pl.lit(question).alias("question_id"), pl.col(column).cast(pl.Utf8).alias("answer"),
                meta(self.employee_col).alias("respondent_id"), meta(self.email_col).alias("respondent_email"),
                meta(self.time_col).alias("responded_at"), meta(self.id_col).alias("response_ref"),
                pl.lit(None, dtype=pl.Utf8).alias("survey_hint"), pl.lit(f", {question}").alias("__suffix"),
                pl.col(LINE_COLUMN),
            )
            for column, (_, question) in self.questions.items()
        ]
        schema = {**{c: pl.Utf8 for c in ANSWER_COLUMNS}, LINE_COLUMN: pl.Int64}
        stacked = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
        stacked = stacked.with_columns(_blank_to_null(c) for c in ANSWER_COLUMNS if c != "__suffix")
        return stacked.filter(pl.col("answer").is_not_null())  # a blank cell: the question was not answered

    def unread(self, batch: pl.DataFrame) -> Counter[tuple[str | None, str, str]]:
        counts: Counter[tuple[str | None, str, str]] = Counter()
        for column, position in self.unnamed.items():
            n = batch.select(pl.col(column).cast(pl.Utf8).str.strip_chars().replace("", None).count()).item()
            counts[(None, f"column {position}", "not_in_registry")] += int(n)
        return counts


def _layout(columns: Sequence[str], registry: _Registry, label: str) -> _Layout:
    if set(LONG_COLUMNS) <= set(columns):
        if not set(LONG_RESPONDENT_COLUMNS) & set(columns):
            raise ConnectorError(f"missing column respondent_id or respondent_email; expected a long survey CSV with "
                                 f"columns {', '.join((*LONG_RESPONDENT_COLUMNS, *LONG_COLUMNS))}", file=label,
                                 locator="line 1")
        return _LongLayout(columns)
    return _FormsLayout(columns, registry, label)


# --- answers to canonical rows ------------------------------------------------------------------------


def _canonical(answers: pl.DataFrame, registry: _Registry, file_name: str, label: str, source: str,
               seen: _SeenKeys) -> tuple[pl.DataFrame, pl.DataFrame, Counter[tuple[str, str]]]:
    """``(survey_responses rows, REJECTS rows, free-text answers dropped per (survey, question))``."""
    locator = join_text(line_locator(file_name), pl.col("__suffix"))
    ids = join_text("question_id=", pl.col("question_id").str.slice(0, 64),
                    pl.when(pl.col("respondent_id").is_not_null())
                    .then(join_text(" respondent_id=", pl.col("respondent_id").str.slice(0, 64))))
    staged = answers.join(registry.questions, on="question_id", how="left", maintain_order="left")
    free = staged.filter(pl.col("__free").fill_null(False))
    free_counts: Counter[tuple[str, str]] = Counter(
        {(s, q): n for s, q, n in free.group_by("__survey", "question_id").len().iter_rows()})
    staged = staged.filter(~pl.col("__free").fill_null(False))

    day = parse_response_day(pl.col("responded_at"), pl.col("__day_first").fill_null(False))
    number = pl.col("answer").str.extract(r"^([+-]?\d{1,3})(?:\.0+)?$", 1).cast(pl.Int64, strict=False)
    staged = staged.with_columns(_fold_expr(pl.col("answer")).alias("__label")).join(
        registry.labels, on=["question_id", "__label"], how="left", maintain_order="left")
    staged = staged.with_columns(
        day.alias("responded_on"),
        pl.when(number.is_between(pl.col("__low"), pl.col("__high"))).then(number)
        .otherwise(pl.col("__point")).alias("__answer"),
        pl.col("respondent_email").str.to_lowercase().alias("respondent_email"),
    ).with_columns(
        pl.when(pl.col("respondent_email").is_in(ANONYMOUS)).then(None).otherwise(pl.col("respondent_email"))
        .alias("respondent_email"),
        pl.when(pl.col("respondent_id").str.to_lowercase().is_in(ANONYMOUS)).then(None)
        .otherwise(pl.col("respondent_id")).alias("respondent_id"),
    ).with_columns(registry.wave_expr(pl.col("__survey"), pl.col("responded_on")).alias("wave"))
    shown_day = pl.when(pl.col("responded_at").str.contains(_DATE_CHARS.pattern)).then(
        join_text(", found '", pl.col("responded_at"), "'")).otherwise(pl.lit(""))
    order = pl.when(pl.col("__day_first")).then(pl.lit("D/M/YYYY")).otherwise(pl.lit("M/D/YYYY"))
    checks = [
        pl.when(pl.col("question_id").is_null()).then(pl.lit("question_id: required, found empty")),
        pl.when(pl.col("question_id").is_not_null() & pl.col("__survey").is_null())
        .then(pl.lit(f"question_id: not a question of {SURVEYS_FILE}")),
        pl.when(pl.col("survey_hint").is_not_null() & pl.col("__survey").is_not_null()
                & (pl.col("survey_hint") != pl.col("__survey")))
        .then(join_text("survey_id: the question belongs to survey ", pl.col("__survey"))),
        pl.when(pl.col("__survey").is_not_null() & pl.col("answer").is_null())
        .then(pl.lit("answer: required, found empty")),
        pl.when(pl.col("__survey").is_not_null() & pl.col("answer").is_not_null() & pl.col("__answer").is_null())
        .then(join_text("answer: expected a point from ", pl.col("__low").cast(pl.Utf8), " to ",
                        pl.col("__high").cast(pl.Utf8), " of ", pl.col("__scale"),
                        pl.when(pl.col("__scale").str.starts_with("likert")).then(pl.lit(" or one of its labels"))
                        .otherwise(pl.lit("")))),
        pl.when(pl.col("responded_at").is_null()).then(pl.lit("responded_at: required, found empty")),
        pl.when(pl.col("responded_at").is_not_null() & pl.col("responded_on").is_null())
        .then(join_text("responded_at: expected an ISO date (YYYY-MM-DD) or ", order, shown_day)),
        pl.when((pl.col("responded_on") < EARLIEST_PLAUSIBLE) | (pl.col("responded_on") >= LATEST_PLAUSIBLE))
        .then(join_text("responded_at: ", pl.col("responded_on").cast(pl.Utf8),
                        f" is outside {EARLIEST_PLAUSIBLE} to {LATEST_PLAUSIBLE}")),
        pl.when(pl.col("responded_on").is_between(pl.lit(EARLIEST_PLAUSIBLE), pl.lit(LATEST_PLAUSIBLE), closed="left")
                & pl.col("__survey").is_not_null() & pl.col("wave").is_null())
        .then(join_text("responded_at: ", pl.col("responded_on").cast(pl.Utf8), " is in no wave of survey ",
                        pl.col("__survey"), f" in {SURVEYS_FILE}")),
        pl.when(pl.col("respondent_id").is_null() & pl.col("respondent_email").is_null())
        .then(pl.lit("respondent: no respondent_id or e-mail (an anonymous answer cannot be joined to HR)")),
    ]
    staged = staged.with_columns(pl.concat_str(checks, separator="; ", ignore_nulls=True).replace("", None)
                                 .alias("__reason"))
    rejects = [rejects_frame(staged.filter(pl.col("__reason").is_not_null()), contract=SURVEY_RESPONSES.name,
                             file=label, source=source, reason=pl.col("__reason"), locator=locator, excerpt=ids)]
    staged = staged.filter(pl.col("__reason").is_null()).with_columns(
        pl.col("__survey").alias("survey_id"),
        pl.col("__scale").alias("scale"),
        pl.col("__answer").alias("answer"),
        join_text(pl.col("wave"), ":", pl.coalesce("response_ref", pl.col("responded_on").cast(pl.Utf8)), ":",
                  pl.coalesce("respondent_id", "respondent_email")).alias("response_id"),
        pl.lit(source).alias("source"),
        pl.lit(file_name).alias("source_file"),
    )
    good, bad = conform_rows(staged, SURVEY_RESPONSES, file=label, locator=locator, excerpt=ids,
                             keep=[LINE_COLUMN, "__suffix"], source=source)
    rejects.append(bad)
    good, repeats = seen.split(good)
    rejects.append(rejects_frame(
        repeats, contract=SURVEY_RESPONSES.name, file=label, source=source, locator=locator, excerpt=ids,
        reason="duplicate answer: the same response_id and question_id came in an earlier row (kept)"))
    out = pl.concat([r.select(REJECTS.names).cast(REJECTS.schema) for r in rejects])  # type: ignore[arg-type]
    return good.select(SURVEY_RESPONSES.names), out, free_counts


__all__ = ["PulseSurveyConnector", "parse_response_day"]
