"""The Slack workspace, the Mattermost team and the Teams counters written in the other export
formats (``uptake simulate --formats``): Zulip, Google Chat, Rocket.Chat and a Viva Insights person
query hold the same world, so the planted truth is what a correct reading of their files gives, and
what their connectors read, person by person and week by week.

Two small drop zones cover the four formats, each from a different simulated platform (the Slack
workspace has bots, joins, guests, deactivated accounts, tombstones and edits; the Mattermost team a
bot and contractors)."""

from __future__ import annotations

import csv
import datetime as dt
import filecmp
import json
import tarfile
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors import registered_connectors
from pipelines.simulator import PlatformFormats, simulate
from pipelines.simulator.platform_formats import written_accounts, written_tenant_users
from pipelines.simulator.truth import observable_active
from pipelines.simulator.world import SimulatedWorld, build_world
from tests.simulator.conftest import SMALL, START, DropZone
from tests.simulator.reference_reader import (email_index, google_chat_time, hr_frame, normalise_email,
                                              person_week_actions)

TZ = "Europe/Paris"
FORMAT_SETS = {
    "zulip+rocket_chat+viva_insights": "slack=zulip,mattermost=rocket_chat,teams=viva_insights",
    "google_chat+zulip": "slack=google_chat,mattermost=zulip",
}
#: Human actions compared per account and week: a post and a reply are one "message" (a reply whose
#: thread root was deleted starts its topic in formats that group threads by topic).
GROUP = {"post": "message", "reply": "message", "upload": "upload", "react": "react"}


@dataclass(frozen=True)
class FormatZone:
    path: Path
    world: SimulatedWorld
    truth: dict
    formats: PlatformFormats


@pytest.fixture(scope="session")
def format_zones(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], FormatZone]:
    """The drop zone of a name of :data:`FORMAT_SETS`, built on first use (once per worker)."""
    built: dict[str, FormatZone] = {}

    def zone(name: str) -> FormatZone:
        if name not in built:
            formats = PlatformFormats.parse(FORMAT_SETS[name])
            out = tmp_path_factory.mktemp("formats") / "raw"
            simulate(out, **SMALL, formats=formats)
            world = build_world(SMALL["employees"], SMALL["weeks"], SMALL["seed"], START, formats=formats)
            built[name] = FormatZone(path=out, world=world, formats=formats,
                                     truth=json.loads((out / "ground_truth.json").read_text()))
        return built[name]

    return zone


@pytest.fixture(params=list(FORMAT_SETS))
def format_zone(request: pytest.FixtureRequest, format_zones: Callable[[str], FormatZone]) -> FormatZone:
    return format_zones(request.param)


#: (drop zone, format) pairs: every new format, Zulip from both simulated platforms.
CHAT_CASES = [("zulip+rocket_chat+viva_insights", "zulip"), ("zulip+rocket_chat+viva_insights", "rocket_chat"),
              ("google_chat+zulip", "google_chat"), ("google_chat+zulip", "zulip")]
ALL_CASES = [*CHAT_CASES, ("zulip+rocket_chat+viva_insights", "viva_insights")]


def _zone_with(format_zones: Callable[[str], FormatZone], fmt: str) -> FormatZone:
    """The first drop zone holding ``fmt``."""
    return format_zones(next(n for n, text in FORMAT_SETS.items() if f"={fmt}" in text))


def _read(connector: str, drop_zone: Path) -> dict[str, pl.DataFrame]:
    tables: dict[str, list[pl.DataFrame]] = {}
    for batch in registered_connectors()[connector].read_drop_zone(drop_zone):
        tables.setdefault(batch.table, []).append(batch.frame)
    return {t: pl.concat(f, how="diagonal_relaxed") for t, f in tables.items()}


def _written_sources(zone: FormatZone) -> dict[str, str]:
    """The new formats of this drop zone -> the simulated platform each holds."""
    return {fmt: platform for platform, fmt in zone.formats.as_dict().items() if fmt != PlatformFormats().as_dict()[platform]}


def _monday(utc: pl.Expr) -> pl.Expr:
    local = utc.dt.convert_time_zone(TZ)
    return local.dt.date() - pl.duration(days=local.dt.weekday() - 1)


# ---- the world is the same; only names change ----------------------------------------------------


def test_the_truth_is_the_default_drop_zones_but_for_names(format_zone: FormatZone, drop_zone: DropZone) -> None:
    """Same seed and size as the default drop zone: the same people, weeks and effects."""
    ours, default = format_zone.truth, drop_zone.truth
    for key in ("weekly", "pilot", "participation", "bass", "ever_active", "frontline_gap", "manager_relay", "kpis"):
        assert ours[key] == default[key], key
    assert ours["platform_formats"] == format_zone.formats.as_dict()
    renamed = {format_zone.formats.source(p): p for p in ("slack", "mattermost")}
    for source, planted in ours["identity"].items():
        if source in renamed:  # the same accounts under the new format's name (Google Chat: one per address)
            assert planted["matchable_human_accounts"] == default["identity"][renamed[source]]["matchable_human_accounts"]
    for name, c in ours["communities"]["communities"].items():
        d = default["communities"]["communities"][name]
        assert c["outputs_by_week"] == d["outputs_by_week"], name
        assert c["source"] == format_zone.formats.source(d["source"]), name
    charters = (format_zone.path / "charters.yaml").read_text(encoding="utf-8")
    for c in ours["communities"]["communities"].values():
        assert f"source: {c['source']}" in charters and str(c["space_id"]) in charters


# ---- the files, read with plain json / csv, hold the truth ----------------------------------------


def test_weekly_active_engaged_and_contributors_from_the_files_equal_the_truth(format_zone: FormatZone) -> None:
    tiers, _ = person_week_actions(format_zone.path)
    truth = pl.DataFrame(format_zone.truth["weekly"]).with_columns(pl.col("week_start").str.to_date())
    for column, wanted in (("active", ["passive", "reaction", "contribution"]), ("engaged", ["reaction", "contribution"]),
                           ("contributors", ["contribution"])):
        counted = (tiers.filter(pl.col("tier").is_in(wanted)).select("employee_id", "week_start").unique()
                   .group_by("week_start").len(column))
        joined = truth.select("week_start", column).join(counted, on="week_start", how="left", suffix="_files")
        assert joined[column].to_list() == joined[f"{column}_files"].fill_null(0).to_list(), column
    assert truth["active"].sum() > truth["engaged"].sum() > truth["contributors"].sum() > 100


def test_active_people_from_the_files_are_exactly_the_observable_ones(format_zone: FormatZone) -> None:
    world = format_zone.world
    tiers, _ = person_week_actions(format_zone.path)
    obs = observable_active(world.behaviour, world.identity) & world.org.eligible
    expected = {(world.org.employee_id[p], world.timeline.monday(t)) for p, t in zip(*obs.nonzero(), strict=True)}
    assert set(tiers.select("employee_id", "week_start").unique().iter_rows()) == expected


# ---- each connector reads, per account, week and action, what the simulator planted ---------------


def _planted_events(zone: FormatZone, platform: str) -> pl.DataFrame:
    """(account_id as written, week_start, action group) -> count of the platform's human actions
    that a correct reading keeps (tombstoned messages, joins and bot posts left out)."""
    ids = written_accounts(zone.world).filter(pl.col("account") >= 0).select("account", "account_id")
    mondays = pl.Series(zone.world.timeline.week_starts, dtype=pl.Date)
    ev = zone.world.events.events.filter((pl.col("source") == platform) & pl.col("kind").is_in(list(GROUP))
                                         & ~pl.col("tombstone"))
    return (ev.join(ids, on="account")
            .with_columns(week_start=pl.col("week").replace_strict(list(range(len(mondays))), mondays,
                                                                   return_dtype=pl.Date),
                          group=pl.col("kind").replace_strict(GROUP))
            .group_by("account_id", "week_start", "group").len("n"))


@pytest.mark.parametrize(("zone", "fmt"), CHAT_CASES)
def test_chat_connector_reads_every_planted_action_of_every_account_and_week(
        format_zones: Callable[[str], FormatZone], zone: str, fmt: str) -> None:
    format_zone = format_zones(zone)
    platform = _written_sources(format_zone)[fmt]
    tables = _read(fmt, format_zone.path)
    assert "rejects" not in tables, tables.get("rejects")
    events = tables["events"]
    read = (events.filter(~pl.col("is_automated") & pl.col("action").is_in(list(GROUP)))
            .with_columns(week_start=_monday(pl.col("occurred_at")), group=pl.col("action").replace_strict(GROUP))
            .group_by("account_id", "week_start", "group").len("n"))
    planted = _planted_events(format_zone, platform)
    key = ["account_id", "week_start", "group"]
    assert planted.height > 50
    assert read.sort(key).equals(planted.sort(key).select(read.columns))
    # channel joins: Zulip's audit log and Rocket.Chat's "uj" messages carry them; a Takeout does not
    joins = format_zone.world.events.events.filter((pl.col("source") == platform) & (pl.col("kind") == "join")).height
    assert events.filter(pl.col("action") == "join").height == (0 if fmt == "google_chat" else joins)
    bots = format_zone.world.events.events.filter((pl.col("source") == platform) & (pl.col("kind") == "bot")).height
    assert events.filter(pl.col("is_automated")).height == bots > 0


def test_viva_insights_connector_reads_the_planted_teams_messages(format_zones: Callable[[str], FormatZone]) -> None:
    format_zone = _zone_with(format_zones, "viva_insights")
    tables = _read("viva_insights", format_zone.path)
    assert "rejects" not in tables
    counts = tables["activity_counts"]
    assert set(counts["action"]) == {"post"}
    assert (counts["period_start"].dt.weekday() == 7).all()  # a Sunday, the Viva Insights week's first day
    read = (counts.filter(pl.col("count") > 0)
            .select("account_id", (pl.col("period_start") + pl.duration(days=1)).alias("week_start"), "count")
            .sort("account_id", "week_start"))
    world = format_zone.world
    ids = written_tenant_users(world).filter(pl.col("source") == "viva_insights").select("person", "account_id")
    teams = (world.events.teams_counts.filter(pl.col("counter").is_in(["team_chat", "private_chat"]))
             .group_by("person", "week").agg(pl.col("count").sum().cast(pl.Int64))
             .join(ids, on="person")
             .with_columns(week_start=pl.col("week").replace_strict(
                 list(range(world.timeline.weeks)), pl.Series(world.timeline.week_starts, dtype=pl.Date),
                 return_dtype=pl.Date)))
    planted = teams.select("account_id", "week_start", "count").sort("account_id", "week_start")
    assert planted.height > 50
    assert read.equals(planted)
    # every licensed employee in every week employed (zeros kept), none else
    employed = int(world.org.employed[ids["person"].to_numpy()].sum())
    assert counts.height == employed


@pytest.mark.parametrize(("zone", "fmt"), ALL_CASES)
def test_connector_accounts_give_the_planted_match_rate(format_zones: Callable[[str], FormatZone], zone: str,
                                                        fmt: str) -> None:
    """Human accounts as the connector lists them, matched to HR with the reference rules (trim,
    accents, case, plus tag; e-mail, UPN or alias), give the planted counts and match rate."""
    format_zone = format_zones(zone)
    accounts = _read(fmt, format_zone.path)["accounts"]
    index = email_index(hr_frame(format_zone.path))
    humans = accounts.filter(~pl.col("is_automated"))
    keys = humans.select(pl.coalesce("account_email", "employee_number").alias("key"))["key"].to_list()
    matched = sum(1 for k in keys if normalise_email(k) in index)
    planted = format_zone.truth["identity"][fmt]
    assert humans.height == planted["human_accounts"]
    assert matched == planted["matchable_human_accounts"]
    assert matched < humans.height or fmt == "viva_insights"  # contractors and personal addresses stay unmatched


# ---- the layouts are the real ones -----------------------------------------------------------------


def test_zulip_export_is_a_tarball_of_realm_and_message_chunks(format_zone: FormatZone) -> None:
    (path,) = sorted((format_zone.path / "platforms" / "zulip").glob("zulip-export-*.tar.gz"))
    with tarfile.open(path) as tf:
        names = tf.getnames()
        root = path.name.removesuffix(".tar.gz")
        realm = json.loads(tf.extractfile(f"{root}/realm.json").read())
        chunks = sorted(n for n in names if n.startswith(f"{root}/messages-"))
        messages = [m for n in chunks for m in json.loads(tf.extractfile(n).read())["zerver_message"]]
    assert names[0] == root and f"{root}/attachment.json" in names and chunks[0] == f"{root}/messages-000001.json"
    assert {"zerver_userprofile", "zerver_userprofile_crossrealm", "zerver_stream", "zerver_recipient",
            "zerver_subscription", "zerver_reaction", "zerver_realmauditlog"} <= set(realm)
    ids = [m["id"] for m in messages]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [m["date_sent"] for m in messages] == sorted(m["date_sent"] for m in messages)  # ids in time order
    users = realm["zerver_userprofile"]
    assert all(u["email"].startswith("user") and u["email"] != u["delivery_email"] for u in users)
    assert any(not u["is_active"] for u in users) or format_zone.formats.slack != "zulip"
    assert any(u["role"] == 600 for u in users) and any(u["is_bot"] for u in users)
    topics = Counter((m["recipient"], m["subject"].casefold()) for m in messages)
    assert max(topics.values()) > 1 and any(m["has_attachment"] for m in messages)
    assert any("@**" in m["content"] for m in messages)
    assert all(r["reaction_type"] == "unicode_emoji" for r in realm["zerver_reaction"])
    assert all(a["event_type"] == 301 for a in realm["zerver_realmauditlog"])


def test_google_chat_takeout_has_groups_users_and_long_dates(format_zones: Callable[[str], FormatZone]) -> None:
    format_zone = _zone_with(format_zones, "google_chat")
    (path,) = sorted((format_zone.path / "platforms" / "google_chat").glob("takeout-*.zip"))
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        groups = sorted({n.split("/")[3] for n in names if "/Groups/" in n})
        messages = [m for n in names if n.endswith("messages.json") for m in json.loads(zf.read(n))["messages"]]
        infos = [json.loads(zf.read(n)) for n in names if n.endswith("group_info.json")]
    assert all(n.startswith("Takeout/Google Chat/") for n in names)
    assert any(n.startswith("Takeout/Google Chat/Users/User ") and n.endswith("/user_info.json") for n in names)
    assert groups and all(g.startswith("Space AAAA") and len(g) == len("Space ") + 11 for g in groups)
    assert all({"name", "members"} <= set(i) for i in infos)
    zones = Counter(m["created_date"].rsplit(" ", 1)[1] for m in messages)
    assert set(zones) == {"CET", "CEST"} or set(zones) == {"CET"}
    assert all("\u202f" in m["created_date"] for m in messages)
    for m in messages:
        space, topic, part = m["message_id"].split("/")
        assert topic == m["topic_id"] and len(part) == 11
    times = [google_chat_time(m["created_date"]) for m in messages]
    assert min(times) >= dt.datetime(2026, 1, 4, 23, tzinfo=dt.UTC).timestamp()
    assert any(m.get("reactions") for m in messages) and any(m.get("attached_files") for m in messages)
    assert any(m["creator"]["user_type"] == "Bot" for m in messages)


def test_rocket_chat_dumps_are_mongoexport_json_lines(format_zones: Callable[[str], FormatZone]) -> None:
    format_zone = _zone_with(format_zones, "rocket_chat")
    (folder,) = sorted((format_zone.path / "platforms" / "rocket_chat").iterdir())
    assert sorted(p.name for p in folder.iterdir()) == ["rocketchat_message.json", "rocketchat_room.json", "users.json"]
    messages = [json.loads(x) for x in (folder / "rocketchat_message.json").read_text(encoding="utf-8").splitlines()]
    users = [json.loads(x) for x in (folder / "users.json").read_text(encoding="utf-8").splitlines()]
    rooms = [json.loads(x) for x in (folder / "rocketchat_room.json").read_text(encoding="utf-8").splitlines()]
    assert all(len(m["_id"]) == 17 and m["ts"]["$date"].endswith("Z") for m in messages)
    assert {m["rid"] for m in messages} <= {r["_id"] for r in rooms} and "GENERAL" in {r["_id"] for r in rooms}
    assert any("tmid" in m for m in messages) and any("reactions" in m for m in messages)
    assert any("file" in m for m in messages) and any("bot" in m for m in messages)
    assert any(u["_id"] == "rocket.cat" for u in users) and any("guest" in u["roles"] for u in users)
    roots = {m["_id"]: m for m in messages}
    for m in messages:
        if "tmid" in m and m["tmid"] in roots:
            assert m["ts"]["$date"] >= roots[m["tmid"]]["ts"]["$date"]


def test_person_query_has_the_sample_layout(format_zones: Callable[[str], FormatZone]) -> None:
    format_zone = _zone_with(format_zones, "viva_insights")
    assert not list((format_zone.path / "platforms" / "m365_usage").glob("TeamsUserActivityUserDetail_*.csv"))
    (path,) = sorted((format_zone.path / "platforms" / "viva_insights").glob("PersonQuery_*.csv"))
    sample = Path(__file__).parents[1] / "fixtures" / "connectors" / "viva_insights" / "platforms" / "viva_insights"
    real = (sample / "pq_data_first6.csv").read_bytes().split(b"\r\n")[1]
    ours = path.read_bytes()
    assert ours.count(b"\r\n") == ours.count(b"\n")  # CRLF rows, as the query output
    header, first = ours.split(b"\r\n")[:2]
    # quoted header and text, bare numbers and MetricDate, as in vivainsights' pq_data.csv
    assert header.startswith(b'"PersonId","MetricDate",') and real.split(b",")[1][:1].isdigit()
    assert first.split(b",")[0].startswith(b'"') and first.split(b",")[1][:1].isdigit()
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    real_columns = set((sample / "pq_data_first6.csv").read_text(encoding="utf-8").splitlines()[0].replace('"', "")
                       .split(","))
    assert {"Collaboration_hours", "Channel_message_posts", "Emails_sent", "Meetings", "Organization",
            "FunctionType", "Level"} <= set(rows[0]) & real_columns
    assert {dt.date.fromisoformat(r["MetricDate"]).isoweekday() for r in rows} == {7}
    assert {r["Level"][:5] for r in rows} == {"Level"}


# ---- the option, and determinism -----------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("slack=teams", "slack can be written as one of"),
    ("slack=zulip,mattermost=zulip", "more than one platform"),
    ("viva_engage=zulip", "platforms whose format can be chosen"),
    ("slack", "expected PLATFORM=FORMAT"),
    ("teams=viva_insights,teams=m365_usage", "given twice"),
])
def test_bad_formats_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlatformFormats.parse(text)


def test_formats_parse_and_default() -> None:
    assert PlatformFormats.parse(None).is_default and PlatformFormats.parse(" ").is_default
    f = PlatformFormats.parse("teams=viva_insights, slack=rocket_chat")
    assert (f.slack, f.mattermost, f.teams) == ("rocket_chat", "mattermost", "viva_insights")
    assert PlatformFormats.parse(str(f)) == f


@pytest.mark.parametrize("formats", list(FORMAT_SETS.values()))
def test_same_seed_and_formats_give_byte_identical_files(tmp_path: Path, formats: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        simulate(out, employees=80, weeks=8, seed=4, formats=formats)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == [] and errors == []
    new = [f for f in files if f.split("/")[1:2] and f.split("/")[1] in ("zulip", "google_chat", "rocket_chat",
                                                                          "viva_insights")]
    assert len({f.split("/")[1] for f in new}) == len([x for x in formats.split(",")])
