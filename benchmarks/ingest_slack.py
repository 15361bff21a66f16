"""Slack ingest benchmark: the full connector against a bare parse floor, on a simulated export.

Acceptance (issue): on a Slack-shaped export of at least 2 million messages (day files of indented
JSON arrays, about 100 messages each), the full connector -- parse, map, reactions exploded, written
to the warehouse with ``pipelines.warehouse.write_batches`` into a DuckDB file -- takes at most twice
the time of a bare parse floor (DuckDB reading the same files, only the fields the connector needs,
nothing written), with at most 2 GiB peak memory.

One run generates the export (deterministic, seed 7; reused when ``--out`` already holds one of the
same size), then measures the floor and the connector, each in a fresh subprocess: wall time and CPU
time (all threads) of the work inside the child, after imports, and the child's peak RSS
(``os.wait4``)::

    .venv/bin/python benchmarks/ingest_slack.py                      # 2,000,000 messages, temp dir
    .venv/bin/python benchmarks/ingest_slack.py --messages 50000     # a quick try
    .venv/bin/python benchmarks/ingest_slack.py --out benchmarks/out/slack_2m

The floor is DuckDB's ``read_json`` over all day files with the connector's own field list
(``MESSAGE_FIELDS``), streamed to Python as Arrow record batches and dropped: the least any
connector must do, since it has to hand the fields to Python to yield frames. For reference the
same scan is also timed aggregated inside DuckDB (nothing handed over); it is printed, not used
for the ratio. Both read with DuckDB's file cache off, as the connector does, so neither reads a
file from memory a second time.

Day files follow a modern export's shape: ``client_msg_id``, ``blocks`` (rich text repeating the
text), ``user_profile``, ``team``/``user_team``/``source_team``; threads with ``replies`` lists
and ``thread_broadcast`` copies of their root; bot messages with attachments; joins; uploads
with a ``files`` entry; reactions on about 15% of messages.

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MANIFEST = "benchmark_manifest.json"
MESSAGES_PER_FILE = 100
DAYS_PER_CHANNEL = 100
SEED = 7
MAX_RATIO = 2.0
MAX_RSS_BYTES = 2 * 1024**3

_WORDS = (
    "the a to of and in for on with we it is this that deploy release team customer plan review "
    "update meeting today tomorrow please check draft budget numbers ticket bug fix test build line "
    "site shift order stock quality safety report client demo slides notes call agenda idea lean "
    "process supplier invoice training onboarding roadmap sprint backlog feedback survey launch"
).split()


# -- the simulated export ------------------------------------------------------------------------------


def _texts(rng: random.Random, n_users: int, count: int = 4000) -> list[str]:
    texts = []
    for _ in range(count):
        words = rng.choices(_WORDS, k=rng.randint(4, 40))
        r = rng.random()
        if r < 0.08:
            words.insert(rng.randrange(len(words)), f"<@U{rng.randrange(n_users):08d}>")
        elif r < 0.12:
            words.append("#idea")
        text = " ".join(words)
        if rng.random() < 0.15:
            text += "?"
        texts.append(text)
    return texts


def _user_profile(uid: str, i: int) -> dict:
    return {
        "avatar_hash": f"g{i:011x}",
        "image_72": f"https://secure.gravatar.com/avatar/{i:032x}.jpg?s=72&d=https%3A%2F%2Fa.slack-edge.com%2Fdf10d%2Fimg%2Favatars%2Fava_0010-72.png",
        "first_name": f"First{i}",
        "real_name": f"First{i} Last{i}",
        "display_name": f"user{i}",
        "team": "T00000001",
        "name": f"user{i}",
        "is_restricted": False,
        "is_ultra_restricted": False,
    }


def _blocks(text: str, rng: random.Random) -> list[dict]:
    return [
        {
            "type": "rich_text",
            "block_id": f"{rng.getrandbits(24):06x}",
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]


def generate_export(out: Path, messages: int, seed: int = SEED) -> dict:
    """Write a Slack-shaped export of ``messages`` messages under ``out``; return its manifest."""
    import orjson

    rng = random.Random(seed)
    n_files = max(1, -(-messages // MESSAGES_PER_FILE))
    n_channels = max(1, -(-n_files // DAYS_PER_CHANNEL))
    n_users = max(20, messages // 1000)
    out.mkdir(parents=True, exist_ok=True)
    users = [f"U{i:08d}" for i in range(n_users)]
    profiles = [_user_profile(u, i) for i, u in enumerate(users)]
    users_json = [
        {
            "id": u,
            "team_id": "T00000001",
            "name": f"user{i}",
            "deleted": i % 97 == 0,
            "real_name": f"First{i} Last{i}",
            "tz": "Europe/Paris",
            "profile": {**profiles[i], "email": f"user{i}@example.com", "title": "", "phone": ""},
            "is_admin": False,
            "is_bot": i % 250 == 1,
            "is_app_user": False,
            "updated": 1700000000,
        }
        for i, u in enumerate(users)
    ]
    (out / "users.json").write_bytes(orjson.dumps(users_json, option=orjson.OPT_INDENT_2))
    channels = [
        {"id": f"C{c:08d}", "name": f"channel-{c}", "created": 1690000000, "creator": users[0],
         "is_archived": False, "is_general": c == 0, "members": users[: min(50, n_users)],
         "topic": {"value": "", "creator": "", "last_set": 0},
         "purpose": {"value": "", "creator": "", "last_set": 0}}
        for c in range(n_channels)
    ]
    (out / "channels.json").write_bytes(orjson.dumps(channels, option=orjson.OPT_INDENT_2))
    texts = _texts(rng, n_users)
    start = dt.date(2025, 1, 6)
    remaining = messages
    stats = {"messages": 0, "reactions": 0, "uploads": 0}
    for c in range(n_channels):
        folder = out / f"channel-{c}"
        folder.mkdir(exist_ok=True)
        for d in range(DAYS_PER_CHANNEL):
            if remaining <= 0:
                break
            count = min(MESSAGES_PER_FILE, remaining)
            remaining -= count
            day = start + dt.timedelta(days=d)
            base = int(dt.datetime.combine(day, dt.time(7), tzinfo=dt.UTC).timestamp())
            offsets = sorted(rng.sample(range(0, 12 * 3600 * 1000), count))
            msgs = []
            parents: list[str] = []
            for k, off in enumerate(offsets):
                ts = f"{base + off // 1000}.{(off % 1000) * 1000 + k:06d}"
                ui = rng.randrange(n_users)
                text = rng.choice(texts)
                r = rng.random()
                if r < 0.05:
                    m = {"type": "message", "subtype": "bot_message", "text": text, "ts": ts,
                         "bot_id": "B00000001", "username": "deploy-bot",
                         "attachments": [{"fallback": text, "color": "36a64f", "text": text, "id": 1}]}
                elif r < 0.06:
                    m = {"user": users[ui], "type": "message", "subtype": "channel_join", "ts": ts,
                         "text": f"<@{users[ui]}> has joined the channel"}
                else:
                    m = {"client_msg_id": f"{rng.getrandbits(128):032x}", "type": "message", "text": text,
                         "user": users[ui], "ts": ts, "blocks": _blocks(text, rng), "team": "T00000001",
                         "user_team": "T00000001", "source_team": "T00000001", "user_profile": profiles[ui]}
                    if r < 0.32 and parents:
                        parent = rng.choice(parents)
                        m["thread_ts"] = parent
                        m["parent_user_id"] = users[0]
                        if r < 0.07:
                            m["subtype"] = "thread_broadcast"
                            m["root"] = {"type": "message", "text": "root", "user": users[0], "ts": parent,
                                         "thread_ts": parent, "reply_count": 1}
                    elif r < 0.35:
                        m["files"] = [{"id": f"F{rng.getrandbits(40):010X}", "created": base, "name": "report.pdf",
                                       "title": "report", "mimetype": "application/pdf", "filetype": "pdf",
                                       "user": users[ui], "size": rng.randrange(10_000, 900_000),
                                       "mode": "hosted", "is_external": False}]
                        m["upload"] = True
                        stats["uploads"] += 1
                    elif r < 0.45:
                        m["thread_ts"] = ts
                        m["reply_count"] = 3
                        m["reply_users_count"] = 2
                        m["latest_reply"] = ts
                        m["reply_users"] = users[:2]
                        m["replies"] = [{"user": users[0], "ts": ts}]
                        m["subscribed"] = False
                        parents.append(ts)
                    if rng.random() < 0.15:
                        reactors = rng.sample(users, k=min(n_users, rng.randint(1, 4)))
                        m["reactions"] = [{"name": rng.choice(("+1", "tada", "eyes", "heart")),
                                           "users": reactors, "count": len(reactors)}]
                        stats["reactions"] += len(reactors)
                msgs.append(m)
            (folder / f"{day.isoformat()}.json").write_bytes(orjson.dumps(msgs, option=orjson.OPT_INDENT_2))
            stats["messages"] += count
    manifest = {"messages": messages, "seed": seed, "day_files": n_files, "channels": n_channels, "users": n_users,
                **stats}
    (out / MANIFEST).write_text(json.dumps(manifest))
    return manifest


def ensure_export(out: Path, messages: int) -> tuple[dict, float]:
    """The export's manifest, generating it unless ``out`` already holds one of this size."""
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("messages") == messages and manifest.get("seed") == SEED and "day_files" in manifest:
            return manifest, 0.0
    t0 = time.perf_counter()
    manifest = generate_export(out, messages)
    return manifest, time.perf_counter() - t0


# -- the two measured phases (each runs in its own process) ---------------------------------------------


def _cpu() -> float:
    """CPU seconds of this process so far (all threads: DuckDB's and Polars' included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _preload() -> None:
    """Import what DuckDB's Python binding loads lazily (pandas, on the first bound parameter or
    registered frame), so that neither timed section pays a one-off import."""
    import pandas  # noqa: F401
    import polars  # noqa: F401
    import pyarrow  # noqa: F401


def _warm_page_cache(export: Path) -> float:
    """Read every file of the export once, so that both phases find it in the OS page cache."""
    t0 = time.perf_counter()
    for path in export.rglob("*.json"):
        with open(path, "rb") as f:
            while f.read(1 << 22):
                pass
    return time.perf_counter() - t0


def _day_file_paths(export: Path) -> list[str]:
    return sorted(str(p) for p in export.glob("*/*.json"))


def phase_floor(export: Path) -> dict:
    """Bare parse: DuckDB reads every day file, only the connector's fields, into Arrow record batches
    handed to Python and dropped (nothing mapped, nothing written). Also timed: the same scan
    aggregated inside DuckDB (no hand-over to Python), reported for reference."""
    import duckdb

    from pipelines.connectors.slack import MESSAGE_COLUMNS_SQL

    files = _day_file_paths(export)
    scan = f"read_json($files, format='array', columns={MESSAGE_COLUMNS_SQL}, filename=true)"
    _preload()
    con = duckdb.connect()
    con.execute("SET enable_external_file_cache = false")  # as in the connector: no second read from memory
    t0, c0 = time.perf_counter(), _cpu()
    rows = 0
    for batch in con.execute(f"SELECT * FROM {scan}", {"files": files}).to_arrow_reader(100_000):
        rows += batch.num_rows
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    t1, c1 = time.perf_counter(), _cpu()
    # every field referenced, so every one is parsed and transformed; the aggregates keep output tiny
    con.execute(
        f"""
        SELECT count(*), count(ts), count("user"), count(bot_id), count(app_id), count(username),
               count(subtype), sum(length(text)), count(thread_ts), count(hidden), count(upload),
               sum(len(reactions)), sum(len(files)), count("file"), count("comment"), count(filename)
        FROM {scan}
        """,
        {"files": files},
    ).fetchone()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "messages": rows,
        "aggregate_seconds": time.perf_counter() - t1,
        "aggregate_cpu": _cpu() - c1,
    }


def phase_connector(export: Path, warehouse: Path, files_per_batch: int) -> dict:
    """The full connector: read, map, explode reactions, write to a DuckDB warehouse file."""
    import duckdb

    from pipelines.connectors.slack import SlackConnector
    from pipelines.warehouse import write_batches

    connector = SlackConnector(files_per_batch=files_per_batch)
    _preload()
    t0, c0 = time.perf_counter(), _cpu()
    con = duckdb.connect(str(warehouse))
    counts = write_batches(con, connector.name, connector.yields, connector.read(export))
    con.close()  # the checkpoint: the rows are on disk
    return {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "counts": dict(counts)}


def _run_child(args: list[str]) -> tuple[dict, int, float]:
    """Run this script as a child; return its JSON result, peak RSS (bytes) and wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed with status {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss * 1024, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="directory for the simulated export (default: a temp dir)")
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--files-per-batch", type=int, default=2000)
    parser.add_argument("--phase", choices=("floor", "connector"), help=argparse.SUPPRESS)
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase == "floor":
        print(json.dumps(phase_floor(args.export)))
        return 0
    if args.phase == "connector":
        print(json.dumps(phase_connector(args.export, args.warehouse, args.files_per_batch)))
        return 0

    with tempfile.TemporaryDirectory(prefix="uptake-bench-") as tmp:
        export = args.out or Path(tmp) / "slack_export"
        manifest, gen_seconds = ensure_export(export, args.messages)
        print(
            f"export: {export}  {manifest['messages']:,} messages, {manifest['reactions']:,} reactions, "
            f"{manifest['day_files']:,} day files, {manifest['channels']} channels, {manifest['users']:,} users"
            + (f"  (generated in {gen_seconds:.1f} s)" if gen_seconds else "  (reused)")
        )
        warm_seconds = _warm_page_cache(export)
        print(f"page cache warmed: every day file read once ({warm_seconds:.1f} s), so neither phase pays the disk")
        floor, floor_rss, floor_wall = _run_child(["--phase", "floor", "--export", str(export)])
        warehouse = Path(tmp) / "warehouse.duckdb"
        conn, conn_rss, conn_wall = _run_child(
            ["--phase", "connector", "--export", str(export), "--warehouse", str(warehouse),
             "--files-per-batch", str(args.files_per_batch)]
        )
        n = manifest["messages"]
        ratio = conn["seconds"] / floor["seconds"]
        cpu_ratio = conn["cpu"] / floor["cpu"]
        rows = [
            ("floor: DuckDB read_json -> Arrow batches", floor["seconds"], floor["cpu"], floor_wall, floor_rss),
            ("connector + write_batches + checkpoint", conn["seconds"], conn["cpu"], conn_wall, conn_rss),
        ]
        print(f"{'phase':<42} {'seconds':>8} {'msgs/s':>11} {'CPU s':>7} {'peak RSS':>10} {'process s':>10}")
        for label, secs, cpu, wall, rss in rows:
            print(f"{label:<42} {secs:>8.2f} {n / secs:>11,.0f} {cpu:>7.2f} {rss / 2**20:>6,.0f} MiB {wall:>10.2f}")
        print(
            f"(reference: the same scan aggregated inside DuckDB, nothing handed to Python: "
            f"{floor['aggregate_seconds']:.2f} s, {floor['aggregate_cpu']:.2f} CPU s; connector / it: "
            f"{conn['seconds'] / floor['aggregate_seconds']:.2f} wall, {conn['cpu'] / floor['aggregate_cpu']:.2f} CPU)"
        )
        print(f"rows written: {conn['counts']}")
        ok_ratio = ratio <= MAX_RATIO
        ok_rss = conn_rss <= MAX_RSS_BYTES
        print(f"ratio connector / floor: {ratio:.2f} wall, {cpu_ratio:.2f} CPU (target <= {MAX_RATIO} wall) "
              f"{'OK' if ok_ratio else 'MISSED'}")
        print(f"connector peak RSS: {conn_rss / 2**30:.2f} GiB (target <= 2 GiB) {'OK' if ok_rss else 'MISSED'}")
        load = os.getloadavg()
        print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
        if floor["messages"] != n:
            print(f"warning: floor read {floor['messages']:,} messages, export has {n:,}")
        return 0 if ok_ratio and ok_rss else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
