"""The realised truth, computed from the simulator's internal state as a correct pipeline would see it.

*Observable active* = active in the model and seen: the person has a matchable identity and the
week holds a contribution or a reaction, or reads on Viva Engage (the only platform whose reads are
exported, by the Microsoft 365 usage report); a correct pipeline counts exactly these person-weeks
as active, over eligible headcount from HR. *Observed counts* (reads, reactions, contributions per
person-week) are recomputed from the events and usage-report counters as written, the way a correct
pipeline adds them up (a Viva Engage post is in its export and in the usage report: both count).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulator.behaviour import Behaviour, expected_bass_curve
from pipelines.simulator.communities import CHARTERS, Space
from pipelines.simulator.identity import IdentityPlan
from pipelines.simulator.organisation import Organisation
from pipelines.simulator.parameters import SimulationParameters, Timeline
from pipelines.simulator.pilots import PilotPlan

ATT_OUTCOME = ("weekly active (0/1) as a correct pipeline observes it: active in the model and the person "
               "has a matchable account; intent to treat (cohort assignment, not use)")
RELAY_ESTIMAND = ("effect of the manager being active in week t-1 on the probability that an adopted team "
                  "member is active in week t, percentage points")


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def _r(x: float | None, nd: int = 6) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), nd)


def observable_active(behaviour: Behaviour, identity: IdentityPlan, counterfactual: bool = False) -> np.ndarray:
    """person x week: active and seen by a correct pipeline (``identity`` kept for callers; the
    behaviour already applied it)."""
    world = behaviour.counterfactual if counterfactual else behaviour.factual
    return world.observable & identity.visible[:, None]


@dataclass(frozen=True)
class ObservedCounts:
    """person x week counts a correct pipeline finds in the written files (eligible weeks only)."""

    passive: np.ndarray
    reaction: np.ndarray
    contribution: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.passive + self.reaction + self.contribution


def planned_counts(org: Organisation, behaviour: Behaviour) -> ObservedCounts:
    """The behaviour's own counts of what a correct pipeline would see (observable weeks only; reads
    only where exported). Used when no event table is built (the canonical scale mode writes its own
    volumes: there, only the observable active weeks are planted, not the tiers)."""
    f, part = behaviour.factual, behaviour.participation
    seen = f.observable & org.eligible
    return ObservedCounts(
        passive=np.where(seen & part.reads_visible[:, None], behaviour.reads, 0),
        reaction=np.where(seen & f.reacts, behaviour.reactions, 0),
        contribution=np.where(seen & f.contributes, behaviour.contributions, 0),
    )


def observed_counts(org: Organisation, events: pl.DataFrame, accounts: pl.DataFrame, teams_counts: pl.DataFrame,
                    viva_counts: pl.DataFrame) -> ObservedCounts:
    """Per person-week: human events of matchable accounts (Slack tombstones, joins and Viva Engage
    reactions, which its export lacks, left out; a Viva Engage message deleted later still counts:
    it was posted, and the export keeps it), Teams chat messages, and the Viva Engage usage report's
    posted / read / liked counts."""
    P, W = org.employed.shape
    out = {k: np.zeros((P, W), dtype=np.int64) for k in ("passive", "reaction", "contribution")}

    def add(tier: str, frame: pl.DataFrame, value: str | None = None) -> None:
        if frame.height:
            np.add.at(out[tier], (frame["person"].to_numpy(), frame["week"].to_numpy()),
                      frame[value].to_numpy() if value else 1)

    matchable = accounts.filter(pl.col("matchable")).select("account")
    kept = (events.filter((pl.col("person") >= 0) & ~pl.col("tombstone")
                          & ~((pl.col("source") == "viva_engage") & (pl.col("kind") == "react")))
            .join(matchable, on="account", how="semi"))
    add("contribution", kept.filter(pl.col("kind").is_in(["post", "reply", "upload"])))
    add("reaction", kept.filter(pl.col("kind") == "react"))
    add("contribution", teams_counts.filter(pl.col("counter").is_in(["team_chat", "private_chat"])), "count")
    add("contribution", viva_counts, "posted")
    add("reaction", viva_counts, "liked")
    add("passive", viva_counts, "read")
    el = org.eligible
    return ObservedCounts(**{k: np.where(el, v, 0) for k, v in out.items()})


def weekly_truth(org: Organisation, plan: PilotPlan, identity: IdentityPlan, behaviour: Behaviour,
                 timeline: Timeline, params: SimulationParameters, observed: ObservedCounts) -> pl.DataFrame:
    """One row per week: eligible headcount, observable active / engaged / contributor counts and
    rates, adoption counts."""
    el = org.eligible
    y = observable_active(behaviour, identity) & el
    engaged = (observed.reaction + observed.contribution) > 0
    contributor = observed.contribution > 0
    front = org.is_frontline[:, None]
    pilot = (plan.cohort_of >= 0)[:, None]
    W, G = timeline.weeks, timeline.general_rollout
    f = behaviour.factual
    new_adopters = np.zeros(W, dtype=np.int64)
    aw = f.adoption_week[f.adoption_week >= 0]
    new_adopters += np.bincount(aw, minlength=W)
    expected = np.full(W, np.nan)
    expected[G:] = expected_bass_curve(f.bass_m, params.bass_p, params.bass_q, W - G)
    office_rate = _rate((y & ~front).sum(0), (el & ~front).sum(0))
    front_rate = _rate((y & front).sum(0), (el & front).sum(0))
    return pl.DataFrame({
        "week": np.arange(W),
        "week_start": np.asarray(timeline.week_starts, dtype="datetime64[D]"),
        "eligible": el.sum(0),
        "eligible_office": (el & ~front).sum(0),
        "eligible_frontline": (el & front).sum(0),
        "employed": org.employed.sum(0),
        "active": y.sum(0),
        "active_office": (y & ~front).sum(0),
        "active_frontline": (y & front).sum(0),
        "active_rate": _rate(y.sum(0), el.sum(0)),
        "engaged": engaged.sum(0),
        "contributors": contributor.sum(0),
        "engaged_rate": _rate(engaged.sum(0), el.sum(0)),
        "contributor_rate": _rate(contributor.sum(0), el.sum(0)),
        "active_rate_office": office_rate,
        "active_rate_frontline": front_rate,
        "frontline_gap_points": 100 * (office_rate - front_rate),
        "active_latent": (f.active & el).sum(0),
        "adopted_eligible": (f.adopted & el).sum(0),
        "new_adopters": new_adopters,
        "bass_population_new_adopters": f.bass_new_adopters,
        "bass_expected_new_adopters": expected,
        "active_rate_pilot": _rate((y & pilot).sum(0), (el & pilot).sum(0)),
        "active_rate_non_pilot": _rate((y & ~pilot).sum(0), (el & ~pilot).sum(0)),
        "actions_latent": np.where(el, behaviour.actions, 0).sum(0),
        "actions_observed": observed.total.sum(0),
    })


def pilot_truth(org: Organisation, plan: PilotPlan, identity: IdentityPlan, behaviour: Behaviour,
                timeline: Timeline) -> dict[str, dict[str, object]]:
    """Realised and expected ATT of each cohort on weekly activity over [start_c, G), with CRN."""
    G = timeline.general_rollout
    el = org.eligible
    vis = identity.visible[:, None]
    y1 = observable_active(behaviour, identity) & el
    y0 = observable_active(behaviour, identity, counterfactual=True) & el
    p1 = behaviour.factual.observable_probability * vis * el
    p0 = behaviour.counterfactual.observable_probability * vis * el
    latent1, latent0 = behaviour.factual.active & el, behaviour.counterfactual.active & el
    non_pilot = plan.cohort_of < 0
    employed0 = org.employed[:, 0]
    out: dict[str, dict[str, object]] = {}
    for k, c in enumerate(plan.cohorts):
        s = c.start_week
        mem = plan.cohort_of == k
        window = np.zeros(timeline.weeks, dtype=bool)
        window[s:G] = True
        cell = mem[:, None] & el & window[None, :]
        n_pw = int(cell.sum())
        ctrl = non_pilot[:, None] & el & window[None, :]
        pre = np.zeros(timeline.weeks, dtype=bool)
        pre[:s] = True
        by_e = []
        for t in range(s, G):
            m = mem & el[:, t]
            by_e.append({
                "event_time": t - s,
                "week_start": timeline.monday(t).isoformat(),
                "person_weeks": int(m.sum()),
                "att_realised": _r((y1[m, t].astype(float) - y0[m, t]).mean()) if m.any() else None,
                "att_expected": _r((p1[m, t] - p0[m, t]).mean()) if m.any() else None,
            })
        at_start = org.employed[:, s]
        workforce = at_start & ~mem
        out[c.name] = {
            "wave": c.wave,
            "start": timeline.monday(s).isoformat(),
            "start_week": s,
            "end": timeline.sunday(c.end_week).isoformat(),
            "support_level": c.support_level,
            "tau": c.tau,
            "org_units": sorted(org.team_code[list(c.teams)].tolist()),
            "employee_ids": sorted(org.employee_id[list(c.volunteers)].tolist()),
            "members": sorted(org.employee_id[list(c.members)].tolist()),
            "n_members": len(c.members),
            "outcome": ATT_OUTCOME,
            "window": f"weeks [{s}, {G}) = {timeline.monday(s).isoformat()} .. {timeline.sunday(G - 1).isoformat()}",
            "person_weeks": n_pw,
            "activity_att_realised": _r((y1[cell].astype(float) - y0[cell]).mean()) if n_pw else None,
            "activity_att_expected": _r((p1[cell] - p0[cell]).mean()) if n_pw else None,
            "activity_att_realised_latent": _r((latent1[cell].astype(float) - latent0[cell]).mean()) if n_pw else None,
            "activity_att_by_event_time": by_e,
            "pilot_active_rate": _r(y1[cell].mean()) if n_pw else None,
            "non_pilot_active_rate": _r(y1[ctrl].mean()) if ctrl.any() else None,
            "naive_difference": _r(y1[cell].mean() - y1[ctrl].mean()) if n_pw and ctrl.any() else None,
            "pre_period_active_rate_pilot": _r(y1[mem[:, None] & el & pre[None, :]].mean()) if s > 0 else None,
            "pre_period_active_rate_non_pilot": _r(y1[non_pilot[:, None] & el & pre[None, :]].mean()) if s > 0 else None,
            "composition": {
                "office_share_pilot": _r((~org.is_frontline[mem]).mean()),
                "office_share_rest": _r((~org.is_frontline[workforce]).mean()),
                "manager_share_pilot": _r((org.direct_reports[mem, s] > 0).mean()),
                "manager_share_rest": _r((org.direct_reports[workforce, s] > 0).mean()),
                "early_adopter_share_pilot": _r(org.early_adopter[mem].mean()),
                "early_adopter_share_rest": _r(org.early_adopter[workforce & employed0].mean()),
                "active_before_start_share_pilot": _r(y1[mem, :s].any(axis=1).mean()) if s > 0 else None,
                "active_before_start_share_rest": _r(y1[workforce, :s].any(axis=1).mean()) if s > 0 else None,
            },
        }
    return out


def frontline_truth(weekly: pl.DataFrame) -> dict[str, object]:
    last = weekly.tail(1).row(0, named=True)
    last8 = weekly.tail(8)
    return {
        "definition": "office active rate minus frontline active rate, percentage points, eligible headcount denominators",
        "last_week": last["week_start"].isoformat(),
        "last_week_points": _r(last["frontline_gap_points"]),
        "last_week_office_rate": _r(last["active_rate_office"]),
        "last_week_frontline_rate": _r(last["active_rate_frontline"]),
        "last_8_weeks_mean_points": _r(float(last8["frontline_gap_points"].mean())),
    }


def ever_active_truth(org: Organisation, identity: IdentityPlan, behaviour: Behaviour) -> dict[str, object]:
    y = observable_active(behaviour, identity) & org.eligible
    ever = y.any(axis=1)
    latent = (behaviour.factual.active & org.eligible).any(axis=1)
    return {
        "definition": "employees observably active in at least one week of the window",
        "total": int(ever.sum()),
        "office": int((ever & ~org.is_frontline).sum()),
        "frontline": int((ever & org.is_frontline).sum()),
        "latent_total": int(latent.sum()),
        "invisible_ever_active": int((latent & ~identity.visible).sum()),
        "invisible_employees": int((~identity.visible & org.employed.any(axis=1)).sum()),
    }


def bass_truth(behaviour: Behaviour, timeline: Timeline, params: SimulationParameters) -> dict[str, object]:
    f = behaviour.factual
    G, W = timeline.general_rollout, timeline.weeks
    expected = expected_bass_curve(f.bass_m, params.bass_p, params.bass_q, W - G)
    realised = f.bass_new_adopters[G:]
    return {
        "population_definition": ("non-pilot employees eligible and employed at G and not adopted before G "
                                  "(both worker types); a random subset of M = round(m_share * population) "
                                  "can adopt; hires after G and pilot members not onboarded adopt at hazard p"),
        "start_week": G,
        "start_week_date": timeline.monday(G).isoformat(),
        "p": params.bass_p,
        "q": params.bass_q,
        "m_share": params.bass_m_share,
        "population": int(f.bass_population.sum()),
        "M": int(f.bass_m),
        "hazard": "p + q * N(k-1) / M for each not-yet-adopted adoptable person in week G+k",
        "realised_new_adopters_by_week": [int(x) for x in realised],
        "expected_new_adopters_by_week": [round(float(x), 3) for x in expected],
        "realised_cumulative_at_end": int(realised.sum()),
        "expected_cumulative_at_end": round(float(expected.sum()), 3),
    }


def community_truth(events: pl.DataFrame, spaces: tuple[Space, ...], space_ids: list[str],
                    weeks: int, source_of: Callable[[str], str] = str) -> dict[str, object]:
    """Weekly outputs per community, recomputed from the events exactly as the charter rules state;
    ``source_of`` names a community's platform as the drop zone does (its export format)."""
    live = events.filter(~pl.col("deleted") & ~pl.col("tombstone") & pl.col("kind").is_in(["post", "reply", "upload"]))
    names = [(s.source, s.name) for s in spaces]
    out: dict[str, object] = {}
    for ch in CHARTERS:
        j = names.index((ch.source, ch.space))
        sp = live.filter(pl.col("space") == j)
        if ch.rule_kind == "answered_question":
            questions = sp.filter((pl.col("kind") != "reply") & pl.col("text").str.contains(r"\?(\s|$)"))
            replies = sp.filter(pl.col("kind") == "reply").select("parent", r_account="account", r_t="t_us")
            answered = (questions.join(replies, left_on="event", right_on="parent", how="inner")
                        .filter((pl.col("r_account") != pl.col("account"))
                                & (pl.col("r_t") - pl.col("t_us") <= 48 * 3600 * 10 ** 6))
                        .select("event", "week").unique())
            per_week = answered.group_by("week").len()
        else:
            per_week = sp.filter(pl.col("text").str.contains(rf"(?i)#{ch.tag}\b")).group_by("week").len()
        counts = np.zeros(weeks, dtype=np.int64)
        wk = per_week["week"].to_numpy()
        counts[wk[(wk >= 0) & (wk < weeks)]] = per_week["len"].to_numpy()[(wk >= 0) & (wk < weeks)]
        all_sp = events.filter(pl.col("space") == j)
        out[ch.name] = {
            "source": source_of(ch.source),
            "space_id": space_ids[j],
            "space_name": ch.space,
            "role": ch.role,
            "rule": {"kind": ch.rule_kind, "within_hours": 48 if ch.rule_kind == "answered_question" else None,
                     "tag": ch.tag},
            "outputs_total": int(counts.sum()),
            "outputs_by_week": counts.tolist(),
            "posts_total": int(all_sp.filter(pl.col("kind").is_in(["post", "upload"])).height),
            "replies_total": int(all_sp.filter(pl.col("kind") == "reply").height),
            "reactions_total": int(all_sp.filter(pl.col("kind") == "react").height),
        }
    return {
        "definition": ("outputs per charter rule, counted in the week (Europe/Paris) of the question or tagged "
                       "message; deleted messages do not count; an answer is a reply by another account"),
        "busy_without_outputs": sorted(c.name for c in CHARTERS if c.role == "busy"),
        "silent": sorted(c.name for c in CHARTERS if c.role == "silent"),
        "productive": sorted(c.name for c in CHARTERS if c.role in ("qa", "ideas")),
        "communities": out,
    }


def relay_observable_truth(org: Organisation, plan: PilotPlan, behaviour: Behaviour,
                           params: SimulationParameters) -> float | None:
    """Expected effect, in percentage points, of the manager being observably active in week t-1
    on an adopted member being observably active in week t: the mean over adopted eligible
    member-weeks whose manager was eligible in t-1 of (P(active | relay) - P(active | no relay)) x
    P(the week is seen | active)."""
    f = behaviour.factual
    el = org.eligible
    P, W = el.shape
    a = behaviour.base_activity
    tau = plan.tau_of()
    start = plan.start_week_of()
    in_pilot = plan.cohort_of >= 0
    v = behaviour.participation.visibility()
    num, den = 0.0, 0
    for t in range(1, W):
        m = org.manager[:, t]
        sample = el[:, t] & (f.adoption_week >= 0) & (f.adoption_week < t) & (m >= 0)
        sample &= el[np.maximum(m, 0), t - 1]
        base = a + tau * (in_pilot & (t >= start))
        gain = np.clip(base + params.rho, 0.0, params.activity_cap) - np.clip(base, 0.0, params.activity_cap)
        num += float((gain * v)[sample].sum())
        den += int(sample.sum())
    return _r(100 * num / den) if den else None


def _gini(x: np.ndarray) -> float | None:
    x = np.sort(x.astype(float))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return None
    return float(2 * (np.arange(1, n + 1) * x).sum() / (n * total) - (n + 1) / n)


def _segments_last_week(total: np.ndarray, el: np.ndarray, window: int = 12, habit: int = 9,
                        power_mean: float = 15.0) -> dict[str, object]:
    """Viva Insights segments (the pipeline's default rules) of the people eligible in the last week,
    on observed actions: calendar windows cut at the person's first eligible week, short windows
    need ceil(habit * n / window) active weeks."""
    P, W = el.shape
    t = W - 1
    people = el[:, t]
    first = np.argmax(el, axis=1)
    lo = np.maximum(first, t - window + 1)
    n = t - lo + 1
    cs = np.concatenate([np.zeros((P, 1)), np.cumsum(total, axis=1)], axis=1)
    ca = np.concatenate([np.zeros((P, 1)), np.cumsum(total >= 1, axis=1)], axis=1)
    rows = np.arange(P)
    mean = (cs[:, t + 1] - cs[rows, lo]) / n
    active_weeks = ca[:, t + 1] - ca[rows, lo]
    is_habit = active_weeks >= np.ceil(habit * n / window)
    power = people & is_habit & (mean >= power_mean)
    habitual = people & is_habit & ~power
    k = int(people.sum())
    return {
        "week": t,
        "eligible": k,
        "power_users": int(power.sum()),
        "power_user_share": _r(power.sum() / k) if k else None,
        "habitual_users": int(habitual.sum()),
        "habitual_user_share": _r(habitual.sum() / k) if k else None,
        "non_users": int((people & (mean == 0)).sum()),
    }


def participation_truth(org: Organisation, behaviour: Behaviour, observed: ObservedCounts,
                        params: SimulationParameters) -> dict[str, object]:
    """Roles planted, and what a correct pipeline measures of them: active / engaged / contributor
    shares, participation inequality over the whole period (the metrics' definitions), the Power
    segment in the last week and the heavy tail of weekly actions."""
    from pipelines.simulator.behaviour import ROLES

    el = org.eligible
    ever_el = el.any(axis=1)
    role = behaviour.participation.role
    total = observed.total
    active = (total > 0) & el
    engaged = ((observed.reaction + observed.contribution) > 0) & el
    contributor = (observed.contribution > 0) & el
    n_pw = int(el.sum())
    x = observed.contribution.sum(axis=1)[ever_el].astype(float)
    n = len(x)
    order = np.sort(x)[::-1]
    before = np.cumsum(order) - order
    heavy = int(((order > 0) & (before < 0.5 * order.sum())).sum())
    top_n = math.ceil(n / 100)
    contributors = int((x > 0).sum())
    last = el[:, -1]
    return {
        "definition": ("roles planted per person (rank of maturity + noise); shares measured on observed actions "
                       "(what a correct pipeline counts) over eligible people / person-weeks"),
        "planted": {
            "power_user_share": params.power_user_share,
            "contributor_share": params.contributor_share,
            "lurker_share": round(1 - params.power_user_share - params.contributor_share, 6),
            "roles": {r: int((role == k).sum()) for k, r in enumerate(ROLES)},
        },
        "person_weeks": {
            "eligible": n_pw,
            "active_rate": _r(active.sum() / n_pw),
            "engaged_rate": _r(engaged.sum() / n_pw),
            "contributor_rate": _r(contributor.sum() / n_pw),
            "passive_only_rate": _r((active & ~engaged).sum() / n_pw),
            "last_week_active_rate": _r(active[:, -1].sum() / last.sum()),
            "last_week_engaged_rate": _r(engaged[:, -1].sum() / last.sum()),
            "last_week_contributor_rate": _r(contributor[:, -1].sum() / last.sum()),
        },
        "inequality": {
            "eligible": n,
            "contributors": contributors,
            "contributions": int(x.sum()),
            "lurker_share": _r((n - contributors) / n),
            "light_contributor_share": _r((contributors - heavy) / n),
            "heavy_contributor_share": _r(heavy / n),
            "heavy_contributors": heavy,
            "top1pct_people": top_n,
            "top1pct_contribution_share": _r(order[:top_n].sum() / order.sum()) if order.sum() else None,
            "gini_eligible": _r(_gini(x)),
            "gini_contributors": _r(_gini(x[x > 0])),
        },
        "usage_segments_last_week": _segments_last_week(total, el),
        "weekly_actions": {
            "active_person_weeks": int(active.sum()),
            "share_with_15_or_more": _r((total[active] >= 15).mean()) if active.any() else None,
            "max": int(total.max()),
        },
    }
