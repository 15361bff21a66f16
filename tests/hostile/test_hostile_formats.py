"""Hostile cases specific to each export format, with the good rows counted independently.

Each test writes a small export holding N good rows (counted here, by construction) beside bad
ones: duplicate ids with different payloads, times at epoch 0 or in 2200, a 10 MB field, names with
right-to-left marks, emoji and NUL bytes, fields of the wrong type, truncated lines. It asserts that
all N good rows come out, each bad row is quarantined with a reason naming the field, and nothing
crashes (``corpus.run_case``). Hypothesis generates the hostile strings and the mixes of good and
bad rows.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.connectors import get_connector
from tests.hostile.corpus import expect_rows, jsonl, run_case, sandbox, zip_bytes
from tests.hostile.mutations import HOSTILE_TEXT, TEN_MB

pytestmark = pytest.mark.xdist_group("hostile")

PROPERTY = settings(max_examples=12, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

#: Names and texts as people and tools write them: letters of any script, bidirectional marks,
#: zero-width characters, emoji, quotes, delimiters, line breaks and NUL.
hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("\u202e\u200f\u200d\u2066\u0000\"',;\t\r\n") + ["\U0001F600", "\U0001F9D1"]),
    ),
    min_size=1,
    max_size=40,
)


def _csv(header: list[str], rows: list[list[str]], *, delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _reasons(outcome) -> list[str]:  # noqa: ANN001 - corpus.Outcome
    return outcome.frame("rejects")["reason"].to_list()


# ----- hr_csv ---------------------------------------------------------------------------------------

HR_HEADER = ["employee_id", "display_name", "email", "department", "site", "country", "hire_date",
             "termination_date"]


def _hr_row(i: int, name: str = "Ana Lopez", *, hire: str = "2020-01-06", end: str = "") -> list[str]:
    return [f"E{i:04d}", name, f"person{i}@example.com", "Sales", "HQ", "FR", hire, end]


def _read_hr(box, files: dict[str, bytes], case: str):  # noqa: ANN001, ANN202
    hr = box.data / "hr"
    hr.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (hr / name).write_bytes(data)
    connector = get_connector("hr_csv")
    return run_case(case, "hr_csv", lambda: connector.read_drop_zone(box.data), box=box,
                    files=tuple(hr / n for n in files), connector=connector)


@PROPERTY
@given(names=st.lists(hostile_text, min_size=1, max_size=6), bad=st.integers(0, 3))
def test_hr_csv_hostile_names_all_kept_and_bad_rows_quarantined(names: list[str], bad: int) -> None:
    good_rows = [_hr_row(i, n) for i, n in enumerate(names)]
    bad_rows = [_hr_row(100 + j, hire=["1970-13-01", "2200-01-01", "yesterday"][j % 3]) for j in range(bad)]
    with sandbox() as box:
        case = f"hr_csv:hostile-names:{len(names)}+{bad}"
        outcome = _read_hr(box, {"hr_2026-01-05.csv": _csv(HR_HEADER, good_rows + bad_rows)}, case)
        expect_rows(case, outcome, "hr_snapshots", len(names))
        assert outcome.rows("rejects") == bad
        assert all("hire_date" in r for r in _reasons(outcome))
        kept = outcome.frame("hr_snapshots").sort("employee_id")["display_name"].to_list()
        assert kept == [n.strip() or None for n in names]  # every name exactly as given (blanks trimmed)


@pytest.mark.parametrize(
    ("case", "data", "error"),
    [
        ("semicolon-delimiter", _csv(HR_HEADER, [_hr_row(1)], delimiter=";"), "employee_id"),
        ("missing-column", _csv(HR_HEADER[1:], [_hr_row(1)[1:]]), "employee_id"),
        ("header-only-garbage", b"\x00\x01\x02\n\x03", "employee_id"),
    ],
)
def test_hr_csv_broken_files_name_file_and_field(case: str, data: bytes, error: str) -> None:
    with sandbox() as box:
        outcome = _read_hr(box, {"hr_2026-01-05.csv": data}, f"hr_csv:{case}")
        assert outcome.error is not None and error in str(outcome.error)


def test_hr_csv_latin1_bom_newlines_extra_columns_duplicates_and_dates() -> None:
    rows = [
        _hr_row(1, "Chloé Dubois"),
        _hr_row(2, "Line\nbreak Name"),
        _hr_row(3, "x" * TEN_MB),
        _hr_row(4, HOSTILE_TEXT),
        _hr_row(5, "Epoch Hire", hire="1970-01-01"),
        _hr_row(3, "Someone Else"),  # duplicate id, different payload: quarantined, first kept
        _hr_row(6, "Far Future", end="2200-01-01"),  # quarantined
    ]
    latin = _csv([*HR_HEADER, "extra"], [[*r, "ignored"] for r in rows[:2]]).decode().encode("latin-1")
    with sandbox() as box:
        case = "hr_csv:latin1+bom+newline+10mb+rtl+dup+2200"
        outcome = _read_hr(box, {
            "hr_2026-01-05.csv": b"\xef\xbb\xbf" + _csv(HR_HEADER, rows[2:]),
            "hr_2026-01-12.csv": latin,
        }, case)
        expect_rows(case, outcome, "hr_snapshots", 3 + 2)
        snaps = outcome.frame("hr_snapshots")
        assert "Chloé Dubois" in snaps["display_name"].to_list()  # Latin-1 decoded, not mangled
        assert "Line\nbreak Name" in snaps["display_name"].to_list()
        assert snaps["display_name"].str.len_chars().max() == TEN_MB
        reasons = _reasons(outcome)
        assert len(reasons) == 2
        assert any("duplicate employee_id" in r for r in reasons)
        assert any("termination_date" in r and "2100" in r for r in reasons)


# ----- m365_usage -----------------------------------------------------------------------------------

M365_HEADER = ["Report Refresh Date", "User Principal Name", "Posted Count", "Read Count", "Liked Count",
               "Report Period"]


def test_m365_usage_text_counts_epochs_and_duplicates() -> None:
    rows = [
        ["2026-03-08", "ana@example.com", "1", "2", "3", "7"],
        ["2026-03-08", "bo@example.com", "", "0", "1", "7"],
        ["2026-03-08", "ana@example.com", "9", "9", "9", "7"],  # duplicate (report, UPN, period)
        ["2026-03-08", "cy@example.com", "lots", "1", "1", "7"],  # text where a count belongs
        ["1970-01-01", "di@example.com", "1", "1", "1", "7"],
        ["2200-01-01", "ed@example.com", "1", "1", "1", "7"],
        ["2026-03-08", "0123456789abcdef0123456789ABCDEF", "1", "1", "1", "7"],  # concealed UPN
    ]
    with sandbox() as box:
        folder = box.data / "platforms" / "m365_usage"
        folder.mkdir(parents=True)
        (folder / "engage.csv").write_bytes(_csv(M365_HEADER, rows))
        connector = get_connector("m365_usage")
        case = "m365_usage:text+epoch+2200+dup+concealed"
        outcome = run_case(case, "m365_usage", lambda: connector.read_drop_zone(box.data), box=box,
                           files=(folder / "engage.csv",), connector=connector)
        expect_rows(case, outcome, "activity_counts", 2 * 3)  # 2 good rows x 3 actions
        reasons = _reasons(outcome)
        assert len(reasons) == 5
        assert any("Posted Count" in r and "lots" in r for r in reasons)
        assert sum("Report Refresh Date" in r for r in reasons) == 2
        assert any("concealed" in r for r in reasons) and any("repeats" in r for r in reasons)


# ----- viva_engage ----------------------------------------------------------------------------------

VIVA_HEADER = ["id", "thread_id", "group_id", "sender_id", "sender_type", "sender_name", "sender_email", "body",
               "created_at"]


def _viva_row(i: int, body: str = "hello team", at: str = "2026-03-02 09:15:00 UTC", *, sender: str = "11",
              name: str = "Ana Lopez") -> list[str]:
    return [str(i), str(i), "501", sender, "user", name, f"user{sender}@example.com", body, at]


@PROPERTY
@given(bodies=st.lists(hostile_text, min_size=1, max_size=5), names=st.lists(hostile_text, min_size=1, max_size=3))
def test_viva_engage_hostile_bodies_and_names(bodies: list[str], names: list[str]) -> None:
    rows = [_viva_row(1000 + i, b, sender=str(11 + i % len(names)), name=names[i % len(names)])
            for i, b in enumerate(bodies)]
    bad = [_viva_row(2000, at="1970-01-01 00:00:00 UTC"), _viva_row(2001, at="2200-01-01 00:00:00 UTC"),
           _viva_row(1000, body="another payload, same id")]
    with sandbox() as box:
        folder = box.data / "platforms" / "viva_engage"
        folder.mkdir(parents=True)
        (folder / "export.zip").write_bytes(zip_bytes({"Messages.csv": _csv(VIVA_HEADER, rows + bad),
                                                       "Users.csv": _csv(["id", "email"], [])}))
        connector = get_connector("viva_engage")
        case = f"viva_engage:hostile-bodies:{len(bodies)}"
        outcome = run_case(case, "viva_engage", lambda: connector.read_drop_zone(box.data), box=box,
                           files=(folder / "export.zip",), connector=connector)
        expect_rows(case, outcome, "events", len(bodies))
        assert sorted(outcome.frame("events")["body_chars"].to_list()) == sorted(len(b) for b in bodies)
        reasons = [r for r in _reasons(outcome) if "Groups.csv" not in r and "file missing" not in r]
        assert len(reasons) == 3
        assert sum("created_at" in r for r in reasons) == 2 and any("duplicate message id" in r for r in reasons)


def test_viva_engage_ten_mb_body_and_embedded_newlines() -> None:
    multi_line = "two\nlines\r\nand a \"quote\", comma"
    rows = [_viva_row(1, "x" * TEN_MB), _viva_row(2, multi_line)]
    with sandbox() as box:
        folder = box.data / "platforms" / "viva_engage" / "export"
        folder.mkdir(parents=True)
        (folder / "Messages.csv").write_bytes(_csv(VIVA_HEADER, rows))
        connector = get_connector("viva_engage")
        case = "viva_engage:10mb+newlines"
        outcome = run_case(case, "viva_engage", lambda: connector.read_drop_zone(box.data), box=box,
                           files=(folder,), connector=connector)
        expect_rows(case, outcome, "events", 2)
        assert sorted(outcome.frame("events")["body_chars"].to_list()) == [len(multi_line), TEN_MB]


# ----- slack ----------------------------------------------------------------------------------------


def _slack_export(root: Path, days: dict[str, list[object] | bytes], users: list[dict] | None = None) -> None:
    root.mkdir(parents=True)
    (root / "users.json").write_text(json.dumps(users if users is not None else [
        {"id": "U1", "name": "ana", "real_name": "Ana Lopez", "profile": {"email": "ana@example.com"}}]))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (root / "general").mkdir()
    for day, messages in days.items():
        data = messages if isinstance(messages, bytes) else json.dumps(messages).encode()
        (root / "general" / f"{day}.json").write_bytes(data)


def _read_slack(box, case: str):  # noqa: ANN001, ANN202
    connector = get_connector("slack")
    return run_case(case, "slack", lambda: connector.read_drop_zone(box.data), box=box,
                    files=(box.data / "platforms" / "slack" / "export",), connector=connector)


#: JSON values of every type, for fields that expect a string or a boolean.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@PROPERTY
@given(texts=st.lists(hostile_text, min_size=1, max_size=5),
       junk=st.lists(st.tuples(st.sampled_from(["user", "ts", "subtype", "thread_ts", "reactions", "files"]),
                               json_values), max_size=3))
def test_slack_hostile_texts_and_wrongly_typed_fields(texts: list[str], junk: list[tuple[str, object]]) -> None:
    good = [{"type": "message", "user": "U1", "text": t, "ts": f"1772442000.{i:06d}"} for i, t in enumerate(texts)]
    broken = []
    for k, (field, value) in enumerate(junk):
        message = {"type": "message", "user": "U1", "text": "x", "ts": f"1772443000.{k:06d}"}
        message[field] = value
        broken.append(message)
    with sandbox() as box:
        _slack_export(box.data / "platforms" / "slack" / "export", {"2026-03-02": good + broken})
        case = f"slack:hostile-texts:{len(texts)}+{len(junk)}"
        outcome = _read_slack(box, case)
        events = outcome.frame("events")
        originals = events.filter(pl.col("action") != "react").filter(pl.col("event_id").is_in(
            [f"C1:{m['ts']}" for m in good]))
        expect_rows(case, type(outcome)(outcome.error, {"events": originals}), "events", len(texts))
        assert sorted(originals["body_chars"].to_list()) == sorted(len(t) for t in texts)
        # every broken message is an event or a reject: none vanishes
        ids = set(events["content_id"].to_list()) | {
            loc.split("[ts=")[1].rstrip("]") for loc in outcome.frame("rejects")["locator"].to_list() if "[ts=" in loc}
        for message in broken:
            ts = message["ts"] if isinstance(message["ts"], str) else None
            if ts is not None and message.get("subtype") not in ("tombstone", "message_changed", "message_deleted",
                                                                 "message_replied"):
                assert f"C1:{ts}" in ids or ts in ids or outcome.rows("rejects"), f"{case}: {message} vanished"


def test_slack_epoch_zero_2200_duplicates_ten_mb_and_a_truncated_day() -> None:
    day1 = [
        {"type": "message", "user": "U1", "text": "ok", "ts": "1772442000.000100"},
        {"type": "message", "user": "U1", "text": "x" * TEN_MB, "ts": "1772442001.000100"},
        {"type": "message", "user": "U1", "text": "epoch", "ts": "0.000000"},
        {"type": "message", "user": "U1", "text": "future", "ts": "7258118400.000000"},
        {"type": "message", "user": "U1", "text": "same ts, other text", "ts": "1772442000.000100"},
    ]
    truncated = json.dumps([{"type": "message", "user": "U1", "text": "lost", "ts": "1772528400.000100"}]).encode()[:-9]
    users = [{"id": "U1", "name": "ana", "real_name": "Ana\u0000 " + HOSTILE_TEXT, "profile": {"email": "a@x.com"}}]
    with sandbox() as box:
        _slack_export(box.data / "platforms" / "slack" / "export",
                      {"2026-03-02": day1, "2026-03-03": truncated}, users=users)
        case = "slack:epoch0+2200+dup+10mb+truncated-day"
        outcome = _read_slack(box, case)
        expect_rows(case, outcome, "events", 2)
        assert outcome.frame("events")["body_chars"].max() == TEN_MB
        assert outcome.frame("accounts")["display_name"].to_list() == ["Ana\u0000 " + HOSTILE_TEXT]
        reasons = _reasons(outcome)
        assert any("before 2009" in r for r in reasons)
        assert any("after" in r for r in reasons if r.startswith("occurred_at"))
        assert any("duplicate" in r for r in reasons)
        assert any("unreadable day file" in r for r in reasons)
        assert "general/2026-03-03.json" in outcome.frame("rejects")["locator"].to_list()


# ----- mattermost -----------------------------------------------------------------------------------


def _mm_post(i: int, message: str = "hello", at: int = 1772442000000, user: str = "ana") -> dict:
    return {"type": "post", "post": {"team": "t", "channel": "c", "user": user, "message": message,
                                     "create_at": at + i, "reactions": None, "replies": None}}


@PROPERTY
@given(messages=st.lists(hostile_text, min_size=1, max_size=5),
       junk=st.lists(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=30)),
                     max_size=4))
def test_mattermost_good_posts_survive_junk_lines(messages: list[str], junk: list[bytes]) -> None:
    head = jsonl({"type": "version", "version": 1},
                 {"type": "user", "user": {"username": "ana", "email": "ana@example.com", "first_name": HOSTILE_TEXT}})
    posts = jsonl(*[_mm_post(i, m) for i, m in enumerate(messages)])
    lines = head + posts + b"".join(j.replace(b"\n", b" ") + b"\n" for j in junk)
    with sandbox() as box:
        folder = box.data / "platforms" / "mattermost"
        folder.mkdir(parents=True)
        (folder / "export.jsonl").write_bytes(lines)
        connector = get_connector("mattermost")
        case = f"mattermost:junk-lines:{len(messages)}+{len(junk)}"
        outcome = run_case(case, "mattermost", lambda: connector.read_drop_zone(box.data), box=box,
                           files=(folder / "export.jsonl",), connector=connector)
        expect_rows(case, outcome, "events", len(messages))
        assert sorted(outcome.frame("events")["body_chars"].to_list()) == sorted(len(m) for m in messages)


def test_mattermost_epoch_zero_2200_duplicates_and_a_truncated_last_line() -> None:
    lines = jsonl({"type": "version", "version": 1}, _mm_post(0), _mm_post(1, "x" * TEN_MB),
                  _mm_post(0, at=0), _mm_post(0, at=7258118400000), _mm_post(0, "same key, other text"))
    lines += json.dumps(_mm_post(5)).encode()[:-4]
    with sandbox() as box:
        folder = box.data / "platforms" / "mattermost"
        folder.mkdir(parents=True)
        (folder / "export.jsonl").write_bytes(lines)
        connector = get_connector("mattermost")
        case = "mattermost:epoch0+2200+dup+truncated"
        outcome = run_case(case, "mattermost", lambda: connector.read_drop_zone(box.data), box=box,
                           files=(folder / "export.jsonl",), connector=connector)
        expect_rows(case, outcome, "events", 2)
        rejects = outcome.frame("rejects").select("locator", "reason").rows()
        assert ("line 7", "line: not valid JSON") in rejects
        reasons = [r for _, r in rejects]
        assert any("before 2000" in r for r in reasons) and any("after now" in r for r in reasons)
        assert any(r.startswith("duplicate") for r in reasons)


# ----- hr_scim and hr_ldif --------------------------------------------------------------------------


def _scim_user(i: int, name: str = "Ana Lopez", emails: object = None) -> dict:
    return {"id": f"s{i}", "userName": f"u{i}@example.com", "displayName": name, "active": True,
            "emails": emails if emails is not None else [{"value": f"u{i}@example.com", "primary": True}]}


@PROPERTY
@given(names=st.lists(hostile_text.filter(lambda s: "\x00" not in s), min_size=1, max_size=5),
       cut=st.one_of(st.none(), st.integers(1, 200)))
def test_hr_scim_hostile_names_wrong_types_and_truncation(names: list[str], cut: int | None) -> None:
    users = [_scim_user(i, n) for i, n in enumerate(names)] + [_scim_user(99, emails="not-a-list")]
    data = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": users}).encode()
    if cut is not None:
        data = data[:-cut]
    with sandbox() as box:
        (box.data / "hr").mkdir()
        path = box.data / "hr" / "scim_2026-01-05.json"
        path.write_bytes(data)
        connector = get_connector("hr_scim")
        case = f"hr_scim:names+types:{len(names)}:cut={cut}"
        outcome = run_case(case, "hr_scim", lambda: connector.read_drop_zone(box.data), box=box, files=(path,),
                           connector=connector)
        if cut is not None:
            assert outcome.error is not None, f"{case}: truncated JSON was read"
            return
        expect_rows(case, outcome, "hr_snapshots", len(names))
        assert outcome.frame("rejects")["reason"].to_list() == ["emails: expected a list of {value, primary, type}"]


def test_hr_ldif_bad_base64_nul_and_rtl_values() -> None:
    import base64

    rtl = base64.b64encode(("Ana " + HOSTILE_TEXT).encode()).decode()
    text = (
        "version: 1\n\n"
        f"dn: uid=e1,ou=people,dc=x\nobjectClass: inetOrgPerson\nuid: e1\nmail: e1@x.com\ndisplayName:: {rtl}\n\n"
        "dn: uid=e2,ou=people,dc=x\nobjectClass: inetOrgPerson\nuid: e2\ndisplayName:: !!!notbase64\n\n"
        "dn: uid=e3,ou=people,dc=x\nobjectClass: inetOrgPerson\nuid: e3\ncn: Nul\x00Name\n\n"
        "dn: uid=e4,ou=people,dc=x\nchangetype: delete\n\n"
    )
    with sandbox() as box:
        (box.data / "hr").mkdir()
        path = box.data / "hr" / "hr_2026-01-05.ldif"
        path.write_text(text, encoding="utf-8")
        connector = get_connector("hr_ldif")
        case = "hr_ldif:base64+nul+rtl+change-record"
        outcome = run_case(case, "hr_ldif", lambda: connector.read_drop_zone(box.data), box=box, files=(path,),
                           connector=connector)
        expect_rows(case, outcome, "hr_snapshots", 2)
        assert "Ana " + HOSTILE_TEXT in outcome.frame("hr_snapshots")["display_name"].to_list()
        reasons = _reasons(outcome)
        assert len(reasons) == 2 and any("invalid base64" in r for r in reasons) and any("changetype" in r for r in reasons)
