"""The realised truth, computed from the simulator's internal state as a correct pipeline would see it.

*Observable active* = active in the model and visible (the person has a matchable account); a
correct pipeline counts exactly these person-weeks as active, over eligible headcount from HR.
"""

from __future__ import annotations

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
    world = behaviour.counterfactual if counterfactual else behaviour.factual
    return world.active & identity.visible[:, None]


def weekly_truth(org: Organisation, plan: PilotPlan, identity: IdentityPlan, behaviour: Behaviour,
                 timeline: Timeline, params: SimulationParameters) -> pl.DataFrame:
    """One row per week: eligible headcount, observable active counts and rates, adoption counts."""
    el = org.eligible
    y = observable_active(behaviour, identity) & el
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
    })


def pilot_truth(org: Organisation, plan: PilotPlan, identity: IdentityPlan, behaviour: Behaviour,
                timeline: Timeline) -> dict[str, dict[str, object]]:
    """Realised and expected ATT of each cohort on weekly activity over [start_c, G), with CRN."""
    G = timeline.general_rollout
    el = org.eligible
    vis = identity.visible[:, None]
    y1 = observable_active(behaviour, identity) & el
    y0 = observable_active(behaviour, identity, counterfactual=True) & el
    p1 = behaviour.factual.probability * vis * el
    p0 = behaviour.counterfactual.probability * vis * el
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
                    weeks: int) -> dict[str, object]:
    """Weekly outputs per community, recomputed from the events exactly as the charter rules state."""
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
            "source": ch.source,
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
