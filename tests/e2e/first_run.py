"""Helpers of the first-run acceptance tests: an HR extract written from a user list, and the
report's text checked for the defects a new user met on their first run (issue 18)."""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import re
from pathlib import Path

HR_HEADER = ("employee_id", "display_name", "email", "upn", "aliases", "manager_id", "department", "org_unit",
             "site", "country", "job_family", "worker_type", "level", "hire_date", "termination_date")
SITES = (("HQ", "office", "Sales"), ("HQ", "office", "IT"), ("PLANT", "frontline", "Production"))


def write_hr_extract(folder: Path, extract_date: dt.date, people: list[dict[str, str]], *,
                     hired: dt.date) -> Path:
    """One ``hr_<date>.csv`` listing ``people`` (``employee_id``, ``email``), the first one managing
    the others, spread over three teams; everyone hired on ``hired``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"hr_{extract_date.isoformat()}.csv"
    boss = people[0]["employee_id"]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HR_HEADER)
        for i, p in enumerate(people):
            site, worker_type, dept = SITES[i % len(SITES)]
            writer.writerow((p["employee_id"], f"Person {i}", p["email"], "", "", "" if i == 0 else boss, dept,
                             f"{dept.upper()}-1", site, "US", dept.lower(), worker_type, 1 if i == 0 else 3,
                             hired.isoformat(), ""))
    return path


def page_text(page: str) -> str:
    """The visible text of a report page (scripts, styles and tags removed)."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", text))


def report_defects(page: str) -> list[str]:
    """The first-run defects found on a report page (an empty list when there are none)."""
    text = page_text(page)
    found = []
    if re.search(r"\bNone\b", text):
        found.append("a literal None")
    for broken in ("is not reached by the fitted ceiling", "reaches 50% is", "reaches 80% is"):
        if broken in text:
            found.append(f"a broken Bass sentence ({broken!r})")
    for empty_chart in ("No publishable communities", "No publishable lags", "No publishable sources"):
        if empty_chart in page:
            found.append(f"an empty chart said to be suppressed ({empty_chart!r})")
    if "contributors (posted, replied, shared)" in text:
        found.append("a hand-written contributors label without uploads")
    return found
