"""Identity resolution: normalisation, rule precedence, aliases, ambiguity, reasons, match rate."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from transforms.contracts import ACCOUNTS, ACTIVITY_COUNTS, EVENTS, HR_SNAPSHOTS
from transforms.hr_history import build_hr_directory
from transforms.clean_events import build_clean_events
from transforms.identity import normalise_identifiers, resolve_identities
from transforms.warehouse import MissingInputError


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def test_normalisation_case_space_unicode_accents_plus():
    raw = pa.array([
        "  Élodie.Dupont+news@NorthWind.EXAMPLE ",   # case, whitespace, accent, plus tag
        "ｊｏｈｎ．ｓｍｉｔｈ@northwind.example",        # full-width letters (NFKC)
        "zo\u0065\u0308@northwind.example",          # decomposed diaeresis
        "a\u00a0b@x.example",                        # non-breaking space inside
        "   ",
        None,
    ])
    assert normalise_identifiers(raw, email=True).to_pylist() == [
        "elodie.dupont@northwind.example",
        "john.smith@northwind.example",
        "zoe@northwind.example",
        "ab@x.example",
        None,
        None,
    ]
    # handles keep a '+' (it is not an address tag there)
    assert normalise_identifiers(pa.array([" E+001 "]), email=False).to_pylist() == ["e+001"]


def hr(emp: str, **kw) -> dict:
    row = {"snapshot_date": d("2026-01-05"), "employee_id": emp, "email": f"{emp.lower()}@northwind.example",
           "site": "HQ", "country": "FR", "hire_date": d("2020-01-01")}
    row.update(kw)
    return row


def acct(account_id: str, **kw) -> dict:
    row = {"source": "slack", "account_id": account_id, "is_automated": False, "is_deleted": False}
    row.update(kw)
    return row


HR_ROWS = [
    hr("E1", email="elodie.dupont@northwind.example", upn="edupont@northwind.example"),
    hr("E2", email="jean.martin@northwind.example", aliases=["j.martin@northwind.example", "jm@old.example"]),
    # two employees sharing an alias: an account with that address is ambiguous
    hr("E3", aliases=["sales@northwind.example"]),
    hr("E4", aliases=["sales@northwind.example"]),
    hr("E5"),
    # left in 2025, still listed in the first extract after leaving: a "former employee"
    hr("E6", email="old.timer@northwind.example", termination_date=d("2025-11-30")),
    # leaves during the data: their account is still matched
    hr("E7", email="leaver@northwind.example", termination_date=d("2026-01-20")),
]

ACCOUNT_ROWS = [
    acct("U1", account_email=" Élodie.Dupont+slack@NorthWind.example"),   # rule 2 after normalisation
    acct("U2", account_email="J.Martin@northwind.example"),                # alias (rule 4)
    acct("U3", account_email="sales@northwind.example"),                   # ambiguous E3 / E4
    # employee number says E5 although the e-mail says E1: employee_number has priority
    acct("U4", employee_number="e5", account_email="elodie.dupont@northwind.example"),
    acct("U5", account_upn="EDUPONT@northwind.example"),                   # rule 3 (upn)
    acct("U6", account_email="old.timer@northwind.example"),               # former employee
    acct("U7", account_email="leaver@northwind.example"),                  # leaver: matched
    acct("U8", account_email="temp.worker@northwind.example"),             # org domain, no HR: contractor
    acct("U9", account_email="guest@partner.example", is_guest=True),      # guest: contractor
    acct("U10", account_email="someone@gmail.example"),                    # unknown
    acct("U12", account_email="other@partner.example"),                    # no guest flag, partner domain
    acct("B1", account_email="e5@northwind.example", is_automated=True),   # a bot is never matched
]


@pytest.fixture
def resolved(con, load, make_settings):
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, HR_ROWS)
    load("raw.slack_accounts", ACCOUNTS, ACCOUNT_ROWS)
    load("raw.slack_events", EVENTS, [
        # an account only seen in events, resolved through the event's e-mail
        {"source": "slack", "event_id": "1", "occurred_at": dt.datetime(2026, 1, 6, 9, tzinfo=dt.UTC),
         "account_id": "U11", "account_email": "e5+x@northwind.example", "action": "post", "is_automated": False},
        # an integration seen only in events
        {"source": "slack", "event_id": "2", "occurred_at": dt.datetime(2026, 1, 6, 9, tzinfo=dt.UTC),
         "account_id": "B2", "action": "post", "is_automated": True},
    ])
    settings = make_settings()
    build_hr_directory(con, ["hr_csv"], settings)
    build_clean_events(con, ["slack"], settings)  # identity reads the accounts seen in events from it
    resolve_identities(con, ["slack"], settings)
    return con


def identity(con, account_id: str) -> tuple:
    return con.execute(
        "SELECT employee_id, matched_rule, status, reason, candidates FROM clean.identity_map "
        "WHERE source = 'slack' AND account_id = ?", [account_id]
    ).fetchone()


def test_rules_and_normalisation(resolved):
    assert identity(resolved, "U1") == ("E1", "account_email=email", "matched", None, ["E1"])
    assert identity(resolved, "U2") == ("E2", "account_email=aliases", "matched", None, ["E2"])
    assert identity(resolved, "U4") == ("E5", "employee_number=employee_id", "matched", None, ["E5"])
    assert identity(resolved, "U5") == ("E1", "account_upn=upn", "matched", None, ["E1"])
    assert identity(resolved, "U7") == ("E7", "account_email=email", "matched", None, ["E7"])
    assert identity(resolved, "U11") == ("E5", "account_email=email", "matched", None, ["E5"])


def test_ambiguous_is_listed_not_guessed(resolved):
    assert identity(resolved, "U3") == (None, "account_email=aliases", "ambiguous", "ambiguous", ["E3", "E4"])


def test_unmatched_reasons(resolved):
    assert identity(resolved, "U6")[2:4] == ("unmatched", "former_employee")
    assert identity(resolved, "U6")[0] is None
    assert identity(resolved, "U8") == (None, None, "unmatched", "contractor", None)
    assert identity(resolved, "U9") == (None, None, "unmatched", "contractor", None)
    assert identity(resolved, "U10") == (None, None, "unmatched", "unknown", None)
    # the domain of a flagged guest (U9) is a partner's: its other accounts are contractors too
    assert identity(resolved, "U12") == (None, None, "unmatched", "contractor", None)
    assert identity(resolved, "B1") == (None, None, "automated", "automated", None)
    assert identity(resolved, "B2") == (None, None, "automated", "automated", None)


def test_match_report(resolved, make_settings):
    row = resolved.execute(
        "SELECT accounts, automated, human_accounts, matched, ambiguous, unmatched, unmatched_contractor, "
        "unmatched_former_employee, unmatched_unknown, match_rate, meets_threshold "
        "FROM quality.identity_match_report WHERE source = 'slack'"
    ).fetchone()
    # 14 accounts: 2 automated; 12 human of which U1 U2 U4 U5 U7 U11 matched -> 6 / 12
    assert row[:9] == (14, 2, 12, 6, 1, 5, 3, 1, 1)
    assert row[9] == pytest.approx(6 / 12)
    assert row[10] is False


def test_rule_order_decides(con, load, make_settings):
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, HR_ROWS)
    load("raw.slack_accounts", ACCOUNTS, [ACCOUNT_ROWS[3]])
    email_first = make_settings(identity_rules=[
        {"account_field": "account_email", "hr_field": "email"},
        {"account_field": "employee_number", "hr_field": "employee_id"},
    ])
    build_hr_directory(con, ["hr_csv"], email_first)
    resolve_identities(con, ["slack"], email_first)
    assert identity(con, "U4")[:3] == ("E1", "account_email=email", "matched")


def test_username_matches_email_local_part(con, load, make_settings):
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [hr("E9", email="Chloé.Roux@northwind.example")])
    load("raw.mattermost_accounts", ACCOUNTS, [
        {"source": "mattermost", "account_id": "mm1", "username": "chloe.roux", "is_automated": False,
         "is_deleted": False},
    ])
    settings = make_settings(identity_rules=[{"account_field": "username", "hr_field": "email"}])
    build_hr_directory(con, ["hr_csv"], settings)
    resolve_identities(con, ["mattermost"], settings)
    row = con.execute("SELECT employee_id, matched_rule FROM clean.identity_map").fetchone()
    assert row == ("E9", "username=email")


def test_counter_accounts_use_their_upn_and_ext_guests(con, load, make_settings):
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [hr("E1", upn="e1@northwind.onmicrosoft.com"), hr("E2")])
    ids = [
        "E1@northwind.onmicrosoft.com",                       # a UPN: matched by account_upn=upn
        "e2@northwind.example",                               # matched by account_email=email
        "x@northwind.example",                                # org domain, no HR record
        "bob_partner.example#EXT#@northwind.onmicrosoft.com",  # Entra external guest
    ]
    load("raw.m365_usage_activity_counts", ACTIVITY_COUNTS, [
        {"source": "m365_usage", "account_id": a, "account_email": a.lower(), "period_start": d("2026-01-05"),
         "period_end": d("2026-01-11"), "action": "post", "count": 1}
        for a in ids
    ])
    settings = make_settings(identity_match_threshold=0.6)
    build_hr_directory(con, ["hr_csv"], settings)
    resolve_identities(con, ["m365_usage"], settings)
    got = con.execute(
        "SELECT account_id, employee_id, matched_rule, reason, is_guest FROM clean.identity_map ORDER BY account_id"
    ).fetchall()
    assert got == [
        ("E1@northwind.onmicrosoft.com", "E1", "account_upn=upn", None, False),
        ("bob_partner.example#EXT#@northwind.onmicrosoft.com", None, None, "contractor", True),
        ("e2@northwind.example", "E2", "account_email=email", None, False),
        ("x@northwind.example", None, None, "contractor", False),
    ]
    rate, ok = con.execute("SELECT match_rate, meets_threshold FROM quality.identity_match_report").fetchone()
    assert rate == pytest.approx(2 / 4) and ok is False


def test_needs_the_hr_directory(con, make_settings):
    with pytest.raises(MissingInputError, match="clean.hr_directory"):
        resolve_identities(con, ["slack"], make_settings())


# ----- survey respondents: the same rules, into clean.survey_identity_map ---------------------------------


def answer(respondent_id: str | None, email: str | None, n: int, on: str = "2026-02-03") -> dict:
    return {"source": "pulse_survey", "survey_id": "pulse", "wave": "w1", "question_id": "q", "scale": "likert_5",
            "response_id": f"r{n}", "respondent_id": respondent_id, "respondent_email": email,
            "responded_on": d(on), "answer": 4}


def test_respondents_are_matched_by_the_identity_rules(con, load, make_settings):
    from transforms.contracts import SURVEY_RESPONSES
    from transforms.identity import resolve_respondents
    from transforms.surveys import build_survey_responses

    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, HR_ROWS)
    load("raw.pulse_survey_survey_responses", SURVEY_RESPONSES, [
        answer("E5", None, 1),                                     # employee id
        answer(None, "Élodie.Dupont+forms@NorthWind.example", 2),  # e-mail variant -> E1
        answer(None, "EDUPONT@northwind.example", 3),              # the UPN -> E1 (account_upn=upn)
        answer("e5", "elodie.dupont@northwind.example", 4),        # employee id has priority -> E5
        answer(None, "sales@northwind.example", 5),                # ambiguous E3 / E4
        answer(None, "temp.worker@northwind.example", 6),          # org domain, not in HR: contractor
        answer("X99", None, 7),                                    # unknown id
        answer(None, "old.timer@northwind.example", 8),            # left before the first answer
        answer("E5", None, 9, on="2026-02-04"),                    # the same respondent again
    ])
    settings = make_settings()
    build_hr_directory(con, ["hr_csv"], settings)
    resolve_respondents(con, ["pulse_survey", "not_a_survey_source"], settings)
    got = dict(con.execute("SELECT respondent_key, (employee_id, status, reason) FROM clean.survey_identity_map")
               .fetchall())
    assert got == {
        "E5|": ("E5", "matched", None),
        "|Élodie.Dupont+forms@NorthWind.example": ("E1", "matched", None),
        "|EDUPONT@northwind.example": ("E1", "matched", None),
        "e5|elodie.dupont@northwind.example": ("E5", "matched", None),
        "|sales@northwind.example": (None, "ambiguous", "ambiguous"),
        "|temp.worker@northwind.example": (None, "unmatched", "contractor"),
        "X99|": (None, "unmatched", "unknown"),
        "|old.timer@northwind.example": (None, "unmatched", "former_employee"),
    }
    report = con.execute("SELECT accounts, matched, match_rate FROM quality.survey_match_report").fetchone()
    assert report[:2] == (8, 4) and report[2] == pytest.approx(0.5)
    # the platform identity map is not touched
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'identity_map'").fetchone()[0] == 0
    assert build_survey_responses(con, ["pulse_survey"]) == 9
    rows = con.execute("SELECT response_id, employee_id, match_status, week_start FROM clean.survey_responses "
                       "ORDER BY response_id").fetchall()
    assert [r[1] for r in rows] == ["E5", "E1", "E1", "E5", None, None, None, None, "E5"]
    assert rows[0][3] == d("2026-02-02") and rows[4][2] == "ambiguous"
    assert "respondent_email" not in [c[0] for c in con.execute("DESCRIBE clean.survey_responses").fetchall()]


def test_no_survey_gives_empty_tables(con, load, make_settings):
    from transforms.identity import resolve_respondents
    from transforms.surveys import build_survey_responses

    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, HR_ROWS)
    settings = make_settings()
    build_hr_directory(con, ["hr_csv"], settings)
    resolve_respondents(con, ["pulse_survey"], settings)
    assert build_survey_responses(con, ["pulse_survey"]) == 0
    assert con.execute("SELECT count(*) FROM quality.survey_match_report").fetchone()[0] == 0
