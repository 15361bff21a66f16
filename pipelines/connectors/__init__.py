"""Connector registry. Connectors register via the ``uptake.connectors`` entry-point group, so a
separate package can add one without touching uptake (``docs/connectors.md``)."""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from pipelines.connectors.base import Batch, Connector, ConnectorError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "uptake.connectors"


@cache
def registered_connectors() -> dict[str, Connector]:
    """All connectors registered through entry points, by name, in name order."""
    found: dict[str, Connector] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        connector = cls()
        if not isinstance(connector, Connector):
            raise TypeError(f"entry point {ep.name} ({ep.value}) is not an uptake Connector")
        if connector.name != ep.name:
            raise ValueError(f"entry point {ep.name!r} points at connector named {connector.name!r}")
        found[connector.name] = connector
    return dict(sorted(found.items()))


def get_connector(name: str) -> Connector:
    connectors = registered_connectors()
    try:
        return connectors[name]
    except KeyError:
        raise KeyError(f"no connector named {name!r}; registered: {', '.join(connectors)}") from None


__all__ = ["Batch", "Connector", "ConnectorError", "ENTRY_POINT_GROUP", "get_connector", "registered_connectors"]
