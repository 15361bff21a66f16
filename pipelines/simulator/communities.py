"""Spaces (channels and groups) per platform, community membership, and the community charters.

Six communities carry a charter: two productive Q&A communities (questions answered by someone else
within 48 hours), one ideas community (posts tagged ``#idea``), two *busy without outputs* (many
posts and reactions, no questions, never their charter's tag) and one *silent* (almost no posts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.simulator.identity import EVENT_PLATFORMS, IdentityPlan
from pipelines.simulator.organisation import DEPARTMENTS, SITE_CODES, Organisation


@dataclass(frozen=True)
class Space:
    source: str
    name: str  # Slack / Mattermost channel name, Viva Engage group name
    kind: str  # general | department | site | team | community | bots
    role: str  # general | qa | ideas | busy | silent | bots: what kind of traffic it gets
    weight: float  # relative attraction for its members' actions on that platform
    private: bool = False
    purpose: str = ""


@dataclass(frozen=True)
class CommunityCharter:
    name: str
    space: str  # space name
    source: str
    role: str
    purpose: str
    output_type: str
    rule_kind: str  # answered_question | hashtag
    tag: str | None = None
    target_per_week: float | None = None


CHARTERS: tuple[CommunityCharter, ...] = (
    CommunityCharter("Maintenance Q&A", "Maintenance Q&A", "viva_engage", "qa",
                     "Frontline technicians get answers from experts", "answered question", "answered_question",
                     target_per_week=5),
    CommunityCharter("IT Helpdesk", "it-helpdesk", "slack", "qa", "Colleagues get IT questions answered fast",
                     "answered question", "answered_question", target_per_week=5),
    CommunityCharter("Ideas Lab", "Ideas Lab", "viva_engage", "ideas", "Collect improvement ideas", "idea",
                     "hashtag", tag="idea", target_per_week=3),
    CommunityCharter("Sales Excellence", "sales-excellence", "slack", "busy",
                     "Sellers answer each other's deal questions", "answered question", "answered_question",
                     target_per_week=5),
    CommunityCharter("Wellbeing at Work", "Wellbeing at Work", "viva_engage", "busy",
                     "Share practical wellbeing tips", "tip", "hashtag", tag="tip", target_per_week=3),
    CommunityCharter("Safety Champions", "Safety Champions", "viva_engage", "silent",
                     "Safety champions answer site safety questions", "answered question", "answered_question",
                     target_per_week=2),
)

MM_TEAM = "northwind-rnd"
MM_TEAM_CHANNELS: tuple[str, ...] = ("platform", "firmware", "testing")


def build_spaces() -> tuple[Space, ...]:
    spaces: list[Space] = [Space("slack", "general", "general", "general", 1.0, purpose="Company-wide news")]
    for d in DEPARTMENTS[1:]:
        spaces.append(Space("slack", f"team-{d.code.lower()}", "department", "general", 2.0,
                            purpose=f"{d.name} team channel"))
    for s in SITE_CODES:
        spaces.append(Space("slack", f"site-{s.lower()}", "site", "general", 1.5, purpose=f"Everyone at {s}"))
    spaces += [
        Space("slack", "it-helpdesk", "community", "qa", 1.0, purpose="Ask IT anything"),
        Space("slack", "sales-excellence", "community", "busy", 3.0, purpose="Sales community"),
        Space("slack", "jira-updates", "bots", "bots", 0.0, purpose="Ticket notifications"),
        Space("slack", "deployments", "bots", "bots", 0.0, purpose="Deployment notifications"),
        Space("mattermost", "town-square", "general", "general", 1.0),
        Space("mattermost", "off-topic", "general", "general", 0.7),
    ]
    spaces += [Space("mattermost", c, "team", "general", 2.0) for c in MM_TEAM_CHANNELS]
    spaces.append(Space("viva_engage", "All Company", "general", "general", 1.0,
                        purpose="This is the default group for everyone in the network"))
    for s in SITE_CODES:
        spaces.append(Space("viva_engage", f"Site {s}", "site", "general", 1.5, purpose=f"News for {s}"))
    spaces += [
        Space("viva_engage", "Maintenance Q&A", "community", "qa", 4.0, purpose=CHARTERS[0].purpose),
        Space("viva_engage", "Ideas Lab", "community", "ideas", 1.0, purpose=CHARTERS[2].purpose),
        Space("viva_engage", "Wellbeing at Work", "community", "busy", 8.0, purpose=CHARTERS[4].purpose),
        Space("viva_engage", "Safety Champions", "community", "silent", 0.01, private=True,
              purpose=CHARTERS[5].purpose),
    ]
    return tuple(spaces)


def membership(org: Organisation, plan: IdentityPlan, spaces: tuple[Space, ...],
               rng: np.random.Generator) -> np.ndarray:
    """Bool P x S: who belongs to which space (only on platforms the person uses)."""
    P = org.n_people
    dept = org.department_codes()
    site = org.site_codes()
    u = rng.random((P, 8))
    out = np.zeros((P, len(spaces)), dtype=bool)
    for j, sp in enumerate(spaces):
        uses = plan.uses[:, EVENT_PLATFORMS.index(sp.source)]
        if sp.kind == "general":
            m = np.ones(P, dtype=bool)
        elif sp.kind == "department":
            m = dept == sp.name.removeprefix("team-").upper()
        elif sp.kind == "site":
            m = site == (sp.name.removeprefix("site-").upper() if sp.source == "slack" else sp.name.removeprefix("Site "))
        elif sp.kind == "team":
            m = (dept == "RND") & (np.arange(P) % len(MM_TEAM_CHANNELS) == MM_TEAM_CHANNELS.index(sp.name))
        elif sp.name == "it-helpdesk":
            m = (dept == "IT") | (u[:, 0] < 0.35)
        elif sp.name == "sales-excellence":
            m = np.isin(dept, ["SALES", "CS"]) & (u[:, 1] < 0.8)
        elif sp.name == "Maintenance Q&A":
            m = ((dept == "MFG") & (u[:, 2] < 0.6)) | (org.job_family == "Maintenance") | (
                (dept == "RND") & (u[:, 3] < 0.2))
        elif sp.name == "Ideas Lab":
            m = u[:, 4] < 0.3
        elif sp.name == "Wellbeing at Work":
            m = u[:, 5] < 0.3
        elif sp.name == "Safety Champions":
            m = org.is_frontline & (u[:, 6] < 0.15)
        else:
            m = np.zeros(P, dtype=bool)
        out[:, j] = m & uses
    return out

