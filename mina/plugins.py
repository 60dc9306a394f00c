"""Plug-ins by name: a registry's built-ins plus the entry points installed packages declare
(speech engines in ``mina.engines``, insight providers in ``mina.insights``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points

logger = logging.getLogger(__name__)


def plugin_entry_points(
    group: str, builtins: Mapping[str, str], kind: str
) -> dict[str, EntryPoint]:
    """``builtins`` (name -> ``module:attribute``) as entry points, then every installed entry
    point of ``group``; a plug-in may not silently replace a built-in ``kind``."""
    found = {
        name: EntryPoint(name=name, value=value, group=group) for name, value in builtins.items()
    }
    for point in entry_points(group=group):
        known = found.get(point.name)
        if known is not None and known.value != point.value:
            logger.warning(
                "ignoring entry point %s = %s: %s %r is built in",
                point.name,
                point.value,
                kind,
                point.name,
            )
            continue
        found[point.name] = point
    return found
