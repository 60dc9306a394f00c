"""Insight providers by name: the built-ins plus whatever installs a ``mina.insights`` entry
point.

A plug-in package declares, in its own pyproject::

    [project.entry-points."mina.insights"]
    myprovider = "my_package.insights:create_provider"

where ``create_provider(settings)`` returns an object satisfying ``InsightProvider``. Factories
are imported only when their provider is asked for (spaCy loads only when insights are made).
``load_provider`` keeps one instance per name for the process: a model is loaded once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from importlib.metadata import EntryPoint

from mina.insights.base import InsightError, InsightProvider, UnknownProviderError
from mina.plugins import plugin_entry_points
from mina.settings import Settings

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mina.insights"

ProviderFactory = Callable[[Settings], InsightProvider]

BUILTIN_PROVIDERS: dict[str, str] = {
    "local": "mina.insights.local:create_provider",
    "openai": "mina.insights.openai:create_provider",
}

_cache: dict[tuple[str, str], InsightProvider] = {}
_cache_lock = threading.Lock()


def _entry_points() -> dict[str, EntryPoint]:
    return plugin_entry_points(ENTRY_POINT_GROUP, BUILTIN_PROVIDERS, "insight provider")


def available_providers() -> list[str]:
    """Names of all registered providers, sorted."""
    return sorted(_entry_points())


def get_provider_factory(name: str) -> ProviderFactory:
    """The factory registered under ``name``; ``UnknownProviderError`` if there is none."""
    points = _entry_points()
    point = points.get(name)
    if point is None:
        raise UnknownProviderError(name, sorted(points))
    try:
        factory = point.load()
    except (ImportError, AttributeError) as exc:
        raise InsightError(f"insight provider {name!r} ({point.value}) cannot load: {exc}") from exc
    if not callable(factory):
        raise InsightError(f"insight provider {name!r}: {point.value} is not callable")
    return factory  # type: ignore[no-any-return]


def load_provider(name: str, settings: Settings) -> InsightProvider:
    """The process's one instance of provider ``name`` for these settings (built on first use;
    blocking: call it off the event loop)."""
    key = (name, settings.model_dump_json())
    with _cache_lock:
        provider = _cache.get(key)
        if provider is None:
            provider = get_provider_factory(name)(settings)
            _cache[key] = provider
        return provider
