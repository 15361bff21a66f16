"""The canonical contracts: every table that crosses a layer boundary is defined here, once.

Each contract is a :class:`~transforms.contracts.base.Contract` (a name, Polars column types,
which columns may be null, a primary key, and a docstring per column). Connectors produce frames
that conform to them; ``conform`` casts a frame to a contract and splits off the rows that do not
fit, with a reason, so nothing is dropped silently.

YAML files of the drop zone (organisation settings, pilots, KPI registry, community charters) are
pydantic models in :mod:`transforms.contracts.config`.
"""

from transforms.contracts.actions import (
    ACTION_TIERS,
    ACTIONS,
    TIERS,
    Action,
    Tier,
    tier_of,
)
from transforms.contracts.base import Column, Contract, ContractError, conform, empty_frame
from transforms.contracts.tables import (
    ACCOUNTS,
    ACTIVITY_COUNTS,
    CONTRACTS,
    EVENTS,
    HR_DIRECTORY,
    HR_SNAPSHOTS,
    KPI_VALUES,
    PERSON_WEEK,
    REJECTS,
    SURVEY_RESPONSES,
    SURVEY_TEXT_DROPPED,
)

__all__ = [
    "ACCOUNTS",
    "ACTIONS",
    "ACTION_TIERS",
    "ACTIVITY_COUNTS",
    "CONTRACTS",
    "Action",
    "Column",
    "Contract",
    "ContractError",
    "EVENTS",
    "HR_DIRECTORY",
    "HR_SNAPSHOTS",
    "KPI_VALUES",
    "PERSON_WEEK",
    "REJECTS",
    "SURVEY_RESPONSES",
    "SURVEY_TEXT_DROPPED",
    "TIERS",
    "Tier",
    "conform",
    "empty_frame",
    "tier_of",
]
