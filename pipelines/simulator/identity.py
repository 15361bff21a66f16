"""Platform accounts and the planted identity truth.

Each employee is assigned a *primary* event-level platform (Slack for office staff, Mattermost for
R&D, Viva Engage for most frontline staff), optional secondary ones, and a Microsoft 365 licence
(all office staff, some frontline). Accounts exist for everyone who ever adopts, plus a few idle
accounts. The email an account carries is a planted *variant* of the HR identity:

- ``exact``, ``case`` (upper/title case), ``whitespace`` (padded), ``alias`` (the HR alias instead
  of the primary), ``plus`` (``first.last+slack@``), ``accents`` (``hélène.lefèvre@`` for HR's
  ``helene.lefevre@``), ``upn`` (Microsoft 365: the user principal name): all *matchable* by a
  correct pipeline (trim, case-fold, strip ``+tag``, fold accents, use aliases and UPNs);
- ``unknown`` (a personal address: frontline staff without a corporate mailbox) and ``contractor``
  (not in HR): *unmatchable*. An employee whose only account is ``unknown`` is invisible to a
  correct pipeline; the truth says so.

Bots and integrations are accounts too, flagged automated and excluded from match rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from pipelines.simulator.names import CONTRACTOR_DOMAINS, FIRST_NAMES, LAST_NAMES, PERSONAL_DOMAINS
from pipelines.simulator.organisation import DEPARTMENT_CODES, Organisation, fold_ascii
from pipelines.simulator.parameters import EMAIL_DOMAIN, TENANT_DOMAIN, SimulationParameters, Timeline

if TYPE_CHECKING:
    from pipelines.simulator.behaviour import Behaviour

#: Event-level platforms, in the order used by per-person arrays.
EVENT_PLATFORMS: tuple[str, ...] = ("slack", "mattermost", "viva_engage")
SLACK, MATTERMOST, VIVA = 0, 1, 2
MATCHABLE_VARIANTS: tuple[str, ...] = ("exact", "case", "whitespace", "alias", "plus", "accents", "upn")


@dataclass(frozen=True)
class IdentityPlan:
    """Per person: which platforms they would use, and whether they can be seen at all."""

    primary: np.ndarray  # int index into EVENT_PLATFORMS
    uses: np.ndarray  # bool P x 3: the person has (or would have) an account on the platform
    m365: np.ndarray  # bool: Microsoft 365 (Teams) licence
    unknown_email: np.ndarray  # bool: their only account carries a personal address

    @property
    def visible(self) -> np.ndarray:
        """Whether a correct pipeline can attribute the person's activity to them."""
        return ~self.unknown_email


def plan_identity(org: Organisation, params: SimulationParameters, rng: np.random.Generator) -> IdentityPlan:
    P = org.n_people
    rnd = org.department == DEPARTMENT_CODES.index("RND")
    front = org.is_frontline
    u = rng.random((P, 4))
    primary = np.where(rnd, MATTERMOST, np.where(front & (u[:, 0] < 0.8), VIVA, SLACK))
    unknown = front & (u[:, 1] < params.unknown_email_share_frontline)
    uses = np.zeros((P, 3), dtype=bool)
    uses[np.arange(P), primary] = True
    second = u[:, 2]
    uses[:, SLACK] |= (rnd & (second < 0.6)) | (front & (primary == VIVA) & (second < 0.1))
    uses[:, VIVA] |= ~front & (u[:, 3] < 0.55)
    uses[unknown] = False
    uses[unknown, primary[unknown]] = True
    m365 = ~front | (rng.random(P) < params.m365_share_frontline)
    m365 &= ~unknown
    return IdentityPlan(primary=primary, uses=uses, m365=m365, unknown_email=unknown)


def _title_case_email(email: pl.Expr) -> pl.Expr:
    return email.str.to_titlecase()


def _random_ids(rng: np.random.Generator, n: int, prefix: str, length: int) -> np.ndarray:
    """``n`` distinct ids of ``length`` upper-case base-36 characters after ``prefix``."""
    alphabet = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype="S1")
    space = 36 ** length
    numbers = rng.choice(space, size=n, replace=False) if space < 2 ** 62 else rng.integers(space, size=n)
    digits = (numbers[:, None] // (36 ** np.arange(length - 1, -1, -1))[None, :]) % 36
    chars = alphabet[digits].view(f"S{length}").ravel().astype(str)
    return np.char.add(prefix, chars).astype(object)


def build_accounts(org: Organisation, plan: IdentityPlan, behaviour: Behaviour, timeline: Timeline,
                   params: SimulationParameters, rng: np.random.Generator) -> pl.DataFrame:
    """Every platform account (employees, contractors, bots), one row each.

    Columns: ``source``, ``account_id``, ``username``, ``email`` (as the platform shows it),
    ``person`` (index, -1 if not an employee), ``kind`` (employee / contractor / bot), ``variant``,
    ``matchable``, ``reason`` (why unmatchable), ``display_name``, ``first_name``, ``last_name``,
    ``created_week``, ``deleted`` (deactivated after the person left), ``is_bot``.
    """
    W = timeline.weeks
    P = org.n_people
    adopted_week = behaviour.factual.adoption_week
    ever = adopted_week >= 0
    idle = ~ever & (rng.random(P) < 0.05) & org.employed.any(axis=1)
    first_emp = np.argmax(org.employed, axis=1)
    frames = []
    for k, source in enumerate(EVENT_PLATFORMS):
        has = plan.uses[:, k] & (ever | (idle & (plan.primary == k)))
        idx = np.flatnonzero(has)
        created = np.where(ever[idx], adopted_week[idx], first_emp[idx])
        frames.append(pl.DataFrame({
            "source": source, "person": idx, "created_week": created,
        }, schema={"source": pl.Utf8, "person": pl.Int64, "created_week": pl.Int64}))
    emp = pl.concat(frames)
    n = emp.height
    person = emp["person"].to_numpy()
    draw = rng.random(n)
    has_alias = org.alias[person] != ""
    has_accent = pl.Series(org.display_name[person].astype(str)).str.contains(r"[^\x00-\x7F]").to_numpy()
    has_accent &= ~pl.Series(org.display_name[person].astype(str)).str.contains("ß").to_numpy()
    cuts = np.cumsum([0.68, 0.08, 0.04, 0.06, 0.06, 0.08])
    variant = np.select(
        [draw < cuts[0], draw < cuts[1], draw < cuts[2], (draw < cuts[3]) & has_alias, draw < cuts[3],
         draw < cuts[4], (draw < cuts[5]) & has_accent],
        ["exact", "case", "whitespace", "alias", "exact", "plus", "accents"], default="exact",
    ).astype(object)
    variant[plan.unknown_email[person]] = "unknown"
    hr_email = org.email[person].astype(str)
    personal = np.asarray(PERSONAL_DOMAINS)[rng.integers(len(PERSONAL_DOMAINS), size=n)]
    emp = emp.with_columns(
        variant=pl.Series(variant.astype(str)),
        hr_email=pl.Series(hr_email),
        alias=pl.Series(org.alias[person].astype(str)),
        first_name=pl.Series(org.first_name[person].astype(str)),
        last_name=pl.Series(org.last_name[person].astype(str)),
        personal_domain=pl.Series(personal),
        num=pl.Series(rng.integers(10, 99, size=n)),
    )
    local = pl.col("hr_email").str.split("@").list.first()
    digits = local.str.extract(r"(\d+)$").fill_null("")
    accented = (pl.col("first_name").str.to_lowercase().str.replace_all(" ", "") + "."
                + pl.col("last_name").str.to_lowercase().str.replace_all(" ", "") + digits + f"@{EMAIL_DOMAIN}")
    emp = emp.with_columns(
        email=pl.when(pl.col("variant") == "case").then(
            pl.when(pl.col("num") % 2 == 0).then(_title_case_email(pl.col("hr_email")))
            .otherwise(pl.col("hr_email").str.to_uppercase()))
        .when(pl.col("variant") == "whitespace").then(
            pl.when(pl.col("num") % 2 == 0).then(" " + pl.col("hr_email") + " ").otherwise(pl.col("hr_email") + "  "))
        .when(pl.col("variant") == "alias").then(pl.col("alias"))
        .when(pl.col("variant") == "plus").then(local + "+" + pl.col("source").str.replace("_", "") + f"@{EMAIL_DOMAIN}")
        .when(pl.col("variant") == "accents").then(accented)
        .when(pl.col("variant") == "unknown").then(
            local.str.replace_all(r"\d", "") + pl.col("num").cast(pl.Utf8) + "@" + pl.col("personal_domain"))
        .otherwise(pl.col("hr_email")),
        username=local,
        kind=pl.lit("employee"),
        matchable=pl.col("variant") != "unknown",
        reason=pl.when(pl.col("variant") == "unknown").then(pl.lit("unknown")).otherwise(pl.lit(None, pl.Utf8)),
        display_name=pl.col("first_name") + " " + pl.col("last_name"),
    )
    last = org.last_week[person]
    emp = emp.with_columns(
        deleted=pl.Series(last < W),
        is_bot=pl.lit(False),
    ).select(_ACCOUNT_COLUMNS)

    contractors = _contractors(org, timeline, params, rng)
    bots = _bots()
    accounts = pl.concat([emp, contractors, bots], how="vertical")
    # platform ids: Slack U..., Mattermost usernames (its ids are not exported), Viva Engage numbers
    n_slack = accounts.filter(pl.col("source") == "slack").height
    n_viva = accounts.filter(pl.col("source") == "viva_engage").height
    slack_ids = _random_ids(rng, n_slack, "U", 10)
    viva_ids = (rng.choice(9 * 10 ** 9, size=n_viva, replace=False) + 10 ** 9).astype(str).astype(object)
    accounts = accounts.with_row_index("row")
    ids = np.empty(accounts.height, dtype=object)
    src = accounts["source"].to_numpy()
    ids[src == "slack"] = slack_ids
    ids[src == "viva_engage"] = viva_ids
    ids[src == "mattermost"] = accounts.filter(pl.col("source") == "mattermost")["username"].to_numpy()
    accounts = accounts.with_columns(account_id=pl.Series(ids.astype(str)))
    return accounts.drop("row").with_row_index("account").with_columns(pl.col("account").cast(pl.Int64))


_ACCOUNT_COLUMNS = ["source", "person", "created_week", "variant", "email", "username", "kind", "matchable",
                    "reason", "display_name", "first_name", "last_name", "deleted", "is_bot"]


def _contractors(org: Organisation, timeline: Timeline, params: SimulationParameters,
                 rng: np.random.Generator) -> pl.DataFrame:
    n = max(3, int(round(params.contractor_share * org.employed[:, 0].sum())))
    country = rng.choice(["FR", "ES", "DE"], size=n)
    first = np.asarray([FIRST_NAMES[c][int(i)] for c, i in zip(country, rng.integers(25, size=n), strict=True)])
    last = np.asarray([LAST_NAMES[c][int(i)] for c, i in zip(country, rng.integers(30, size=n), strict=True)])
    domain = np.asarray(CONTRACTOR_DOMAINS)[rng.integers(len(CONTRACTOR_DOMAINS), size=n)]
    source = np.where(rng.random(n) < 0.7, "slack", "mattermost")
    frame = pl.DataFrame({"source": source, "first_name": first, "last_name": last, "domain": domain})
    local = fold_ascii(frame["first_name"]) + "." + fold_ascii(frame["last_name"]) + pl.Series(
        np.arange(n).astype(str))
    return frame.with_columns(
        person=pl.lit(-1, pl.Int64),
        created_week=pl.Series(rng.integers(0, max(1, timeline.weeks // 2), size=n)).cast(pl.Int64),
        variant=pl.lit("contractor"),
        email=local + "@" + pl.col("domain"),
        username=local + "-ext",
        kind=pl.lit("contractor"),
        matchable=pl.lit(False),
        reason=pl.lit("contractor"),
        display_name=pl.col("first_name") + " " + pl.col("last_name") + " (ext)",
        # the first Slack contractor's contract ended half-way: a deactivated account with history
        deleted=(pl.col("source") == "slack") & (pl.int_range(pl.len()) == pl.arg_where(pl.col("source") == "slack").first()),
        is_bot=pl.lit(False),
    ).select(_ACCOUNT_COLUMNS)


#: Automated accounts per source: (username, display name).
BOTS: dict[str, tuple[tuple[str, str], ...]] = {
    "slack": (("jira", "Jira Cloud"), ("deploybot", "Deploy Bot")),
    "mattermost": (("jira-bot", "Jira"),),
    "viva_engage": (("announcements-bot", "Company Announcements"),),
}


def _bots() -> pl.DataFrame:
    rows = [(s, u, d) for s, bots in BOTS.items() for u, d in bots]
    return pl.DataFrame({
        "source": [r[0] for r in rows], "username": [r[1] for r in rows], "display_name": [r[2] for r in rows],
    }).with_columns(
        person=pl.lit(-1, pl.Int64), created_week=pl.lit(0, pl.Int64), variant=pl.lit("bot"),
        email=pl.lit(None, pl.Utf8), kind=pl.lit("bot"), matchable=pl.lit(False), reason=pl.lit(None, pl.Utf8),
        first_name=pl.lit(None, pl.Utf8), last_name=pl.lit(None, pl.Utf8), deleted=pl.lit(False), is_bot=pl.lit(True),
    ).select(_ACCOUNT_COLUMNS)


def m365_users(org: Organisation, plan: IdentityPlan, rng: np.random.Generator) -> pl.DataFrame:
    """Microsoft 365 tenant users: employees by UPN (Teams licensees, ``teams``, and Viva Engage
    users, ``viva``: both appear in the usage reports), plus two guest contractors (Teams only).
    People known only by a personal address have no tenant identity."""
    tenant = (plan.m365 | plan.uses[:, VIVA]) & ~plan.unknown_email
    idx = np.flatnonzero(tenant & org.employed.any(axis=1))
    upn = org.upn[idx].astype(str)
    case = rng.random(len(idx)) < 0.1
    frame = pl.DataFrame({"person": idx.astype(np.int64), "upn": upn, "case": case}).with_columns(
        upn=pl.when(pl.col("case")).then(_title_case_email(pl.col("upn"))).otherwise(pl.col("upn")),
        variant=pl.lit("upn"), matchable=pl.lit(True), reason=pl.lit(None, pl.Utf8),
        frontline=pl.Series(org.is_frontline[idx]),
        teams=pl.Series(plan.m365[idx]), viva=pl.Series(plan.uses[idx, VIVA]),
    ).drop("case")
    guests = pl.DataFrame({
        "person": [-1, -1],
        "upn": [f"marc.dubois_{CONTRACTOR_DOMAINS[0]}#EXT#@{TENANT_DOMAIN}",
                f"lena.weber_{CONTRACTOR_DOMAINS[1]}#EXT#@{TENANT_DOMAIN}"],
        "variant": ["contractor", "contractor"], "matchable": [False, False], "reason": ["contractor", "contractor"],
        "frontline": [False, False], "teams": [True, True], "viva": [False, False],
    }, schema=frame.schema)
    user_ids = _uuid_like(rng, frame.height + 2)
    return pl.concat([frame, guests]).with_columns(user_id=pl.Series(user_ids))


def _uuid_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Deterministic GUID-shaped strings (Entra object ids)."""
    hexes = rng.integers(0, 16, size=(n, 32))
    chars = np.frombuffer(b"0123456789abcdef", dtype="S1")[hexes].view("S32").ravel().astype(str)
    s = pl.Series(chars)
    return (s.str.slice(0, 8) + "-" + s.str.slice(8, 4) + "-4" + s.str.slice(13, 3) + "-a" + s.str.slice(17, 3)
            + "-" + s.str.slice(20, 12)).to_numpy().astype(str)


def identity_truth(accounts: pl.DataFrame, m365: pl.DataFrame) -> dict[str, dict[str, object]]:
    """Per source: human accounts, matchable human accounts, match rate, reasons and variants.

    ``m365`` may carry ``source`` and ``account_id`` (tenant users written under another source:
    :func:`~pipelines.simulator.platform_formats.written_tenant_users`); without them its rows are
    the ``m365_usage`` source's accounts, by UPN. Rows sharing a source and an account id are one
    account (a format that keys accounts by e-mail, Google Chat, merges two accounts whose addresses
    are equal once trimmed and lower-cased: only personal addresses can be).
    """
    m365_source = pl.col("source") if "source" in m365.columns else pl.lit("m365_usage")
    m365_id = pl.col("account_id") if "account_id" in m365.columns else pl.col("upn")
    frames = [accounts.select("source", "account_id", "variant", "matchable", "reason", "is_bot"),
              m365.select(m365_source.alias("source"), m365_id.alias("account_id"), "variant", "matchable", "reason",
                          pl.lit(False).alias("is_bot"))]
    allacc = (pl.concat(frames).sort("source", "account_id", "variant")
              .group_by("source", "account_id", maintain_order=True)
              .agg(pl.col("variant").first(), pl.col("matchable").any(), pl.col("reason").first(),
                   pl.col("is_bot").any()))
    out: dict[str, dict[str, object]] = {}
    for source in sorted(allacc["source"].unique().to_list()):
        s = allacc.filter(pl.col("source") == source)
        human = s.filter(~pl.col("is_bot"))
        matchable = int(human["matchable"].sum())
        reasons = human.filter(~pl.col("matchable")).group_by("reason").len().sort("reason")
        variants = human.group_by("variant").len().sort("variant")
        out[source] = {
            "human_accounts": human.height,
            "automated_accounts": s.height - human.height,
            "matchable_human_accounts": matchable,
            "match_rate": round(matchable / human.height, 6) if human.height else None,
            "unmatchable_reasons": dict(zip(reasons["reason"].to_list(), reasons["len"].to_list(), strict=True)),
            "variants": dict(zip(variants["variant"].to_list(), variants["len"].to_list(), strict=True)),
        }
    return out
