"""Speech engines by name: the built-ins plus whatever installs a ``mina.engines`` entry point.

A plug-in package declares, in its own pyproject::

    [project.entry-points."mina.engines"]
    myengine = "my_package.engine:create_engine"

where ``create_engine(**options)`` returns an object satisfying ``SpeechEngine``. Factories are
imported only when their engine is asked for, so listing engines stays cheap and the fake
engine never imports faster-whisper.

``load_engine`` keeps one instance per (name, options) for the whole process: a model is loaded
once and shared by every stream. Engines are therefore required to be thread-safe; the Whisper
engine is (see ``mina.engines.whisper``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from importlib.metadata import EntryPoint
from typing import Any

from mina.engines.base import EngineError, SpeechEngine, UnknownEngineError
from mina.plugins import plugin_entry_points

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mina.engines"

EngineFactory = Callable[..., SpeechEngine]

# Built-ins are named like entry points so that both kinds load the same way.
BUILTIN_ENGINES: dict[str, str] = {
    "whisper": "mina.engines.whisper:create_engine",
    "fake": "mina.engines.fake:create_engine",
}

_cache: dict[tuple[str, tuple[tuple[str, Hashable], ...]], SpeechEngine] = {}
_cache_lock = threading.Lock()


def _entry_points() -> dict[str, EntryPoint]:
    return plugin_entry_points(ENTRY_POINT_GROUP, BUILTIN_ENGINES, "engine")


def available_engines() -> list[str]:
    """Names of all registered engines, sorted."""
    return sorted(_entry_points())


def get_engine_factory(name: str) -> EngineFactory:
    """The factory registered under ``name``; ``UnknownEngineError`` if there is none."""
    points = _entry_points()
    point = points.get(name)
    if point is None:
        raise UnknownEngineError(name, sorted(points))
    try:
        factory = point.load()
    except (ImportError, AttributeError) as exc:
        raise EngineError(f"speech engine {name!r} ({point.value}) cannot load: {exc}") from exc
    if not callable(factory):
        raise EngineError(f"speech engine {name!r}: {point.value} is not callable")
    return factory  # type: ignore[no-any-return]


def get_engine(name: str, **options: Any) -> SpeechEngine:
    """A new engine instance (loads its model). Prefer ``load_engine`` outside tests."""
    engine = get_engine_factory(name)(**options)
    if not isinstance(engine, SpeechEngine):
        raise EngineError(f"speech engine {name!r} returned {type(engine).__name__}, not an engine")
    return engine


def load_engine(name: str, **options: Any) -> SpeechEngine:
    """The process-wide engine for ``name`` and ``options``, created on first use.

    Options must be hashable (strings, numbers, paths, frozen dataclasses). Concurrent first
    calls wait for one load rather than loading the model twice.
    """
    try:
        key = (name, tuple(sorted(options.items())))
        hash(key)
    except TypeError as exc:
        raise TypeError(f"load_engine options must be hashable: {exc}") from exc
    with _cache_lock:
        engine = _cache.get(key)
        if engine is None:
            engine = get_engine(name, **options)
            _cache[key] = engine
            logger.info("speech engine %s (model %s) loaded", engine.name, engine.model_name)
        return engine


def clear_engine_cache() -> None:
    """Forget the engines ``load_engine`` has kept (tests; freeing a model's memory)."""
    with _cache_lock:
        _cache.clear()
