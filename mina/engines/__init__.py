"""Speech engines: plug-ins that turn audio into timed words (see ``base`` and ``registry``)."""

from __future__ import annotations

from mina.engines.base import (
    SAMPLE_RATE,
    EngineError,
    ModelIntegrityError,
    ModelUnavailableError,
    Segment,
    SpeechEngine,
    TranscribeOptions,
    UnknownEngineError,
    Word,
    join_words,
)
from mina.engines.registry import (
    available_engines,
    clear_engine_cache,
    get_engine,
    get_engine_factory,
    load_engine,
)

__all__ = [
    "SAMPLE_RATE",
    "EngineError",
    "ModelIntegrityError",
    "ModelUnavailableError",
    "Segment",
    "SpeechEngine",
    "TranscribeOptions",
    "UnknownEngineError",
    "Word",
    "available_engines",
    "clear_engine_cache",
    "get_engine",
    "get_engine_factory",
    "join_words",
    "load_engine",
]
