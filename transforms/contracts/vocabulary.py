"""Closed vocabularies and plausibility bounds shared by connectors, transforms and checks, one
copy each: worker types, tenure bands, and the dates outside which a timestamp is a broken clock.
(The action vocabulary and its tiers are in :mod:`transforms.contracts.actions`.)"""

from __future__ import annotations

import datetime as dt
from typing import Literal

__all__ = [
    "EARLIEST_PLAUSIBLE",
    "LATEST_PLAUSIBLE",
    "FREE_TEXT",
    "LIKERT_LABELS",
    "SURVEY_SCALES",
    "TENURE_BANDS",
    "WORKER_TYPES",
    "WorkerType",
    "tenure_band_sql",
]

#: Office staff (connected at a desk) or frontline (factories, shops, field): the digital divide.
WorkerType = Literal["office", "frontline"]
WORKER_TYPES: tuple[str, ...] = ("office", "frontline")

#: Tenure bands: (label, upper bound in whole years, exclusive); the last band is open-ended.
TENURE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("<1y", 1), ("1-3y", 3), ("3-5y", 5), ("5-10y", 10), ("10y+", None),
)

#: Answer scales of pulse-survey questions: scale -> (lowest point, highest point), both inclusive.
SURVEY_SCALES: dict[str, tuple[int, int]] = {"likert_5": (1, 5), "likert_7": (1, 7), "nps_0_10": (0, 10)}
#: The scale of an open question: its answers are dropped by the connector (counted, never stored).
FREE_TEXT = "free_text"
#: Default answer labels of the Likert scales, lowest point first (Microsoft Forms' and Google Forms' English
#: defaults); a question of ``surveys.yaml`` may give its own (``labels``).
LIKERT_LABELS: dict[str, tuple[str, ...]] = {
    "likert_5": ("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"),
    "likert_7": ("Strongly disagree", "Disagree", "Somewhat disagree", "Neutral", "Somewhat agree", "Agree",
                 "Strongly agree"),
}

#: Dates before this are an unset clock (epoch 0, a default 1900), not real activity.
EARLIEST_PLAUSIBLE = dt.date(2000, 1, 1)
#: The same bound as a UTC timestamp, for event times.
EARLIEST_PLAUSIBLE_TIME = dt.datetime.combine(EARLIEST_PLAUSIBLE, dt.time(), tzinfo=dt.UTC)
#: Dates from this on are a typing slip or a placeholder (``9999-12-31``), not real activity.
LATEST_PLAUSIBLE = dt.date(2100, 1, 1)


def tenure_band_sql(hire_date: str, on: str) -> str:
    """SQL: the tenure band of an employee hired on ``hire_date`` as of the date ``on`` (null without hire date)."""
    whens = " ".join(f"WHEN {on} < {hire_date} + INTERVAL {years} YEAR THEN '{label}'"
                     for label, years in TENURE_BANDS if years is not None)
    last = TENURE_BANDS[-1][0]
    return f"CASE WHEN {hire_date} IS NULL THEN NULL {whens} ELSE '{last}' END"
