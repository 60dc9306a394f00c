"""The jobs by name, grouped by concern; each function lives with its concern and is imported
when first run (like the speech engine registry)."""

from __future__ import annotations

import importlib

from mina.jobs.base import JobFunction

BUILTIN_JOBS: dict[str, str] = {
    # speech: decoding audio (the ``speech`` queue, see ``mina.jobs.routing``)
    "transcribe_upload": "mina.uploads:transcribe_upload",
    "diarize": "mina.speakers.job:diarize_meeting",
    # after a meeting: what is made from its transcript and audio
    "insights": "mina.insights.job:generate_insights",
    "embed": "mina.semantic.job:embed_meeting_job",
    "encode_playback": "mina.playback:encode_playback",
    # accounts
    "export_user_data": "mina.privacy.export:export_user_data",
}


def check_job_name(name: str) -> None:
    """``LookupError`` naming the known jobs when ``name`` is not one of them."""
    if name not in BUILTIN_JOBS:
        raise LookupError(f"unknown job {name!r}; known jobs: {', '.join(sorted(BUILTIN_JOBS))}")


def resolve_job(name: str) -> JobFunction:
    """The function registered under ``name``; ``LookupError`` if there is none."""
    check_job_name(name)
    target = BUILTIN_JOBS[name]
    module_name, _, attribute = target.partition(":")
    function: JobFunction = getattr(importlib.import_module(module_name), attribute)
    return function
