"""Which queue each job goes on (no Celery import: the web process's metrics read it too).

Jobs that decode speech or voices go on ``speech``, so a deployment can give them their own
machines; the rest on ``default``.
"""

from __future__ import annotations

SPEECH_QUEUE = "speech"
DEFAULT_QUEUE = "default"
QUEUES = (SPEECH_QUEUE, DEFAULT_QUEUE)
# transcribe_upload runs the speech model; diarize reads the whole audio through the voice
# encoder: both are long and CPU-heavy, so they share the speech machines
SPEECH_JOBS = frozenset({"transcribe_upload", "diarize"})


def queue_for(job_name: str) -> str:
    """The queue a job goes on."""
    return SPEECH_QUEUE if job_name in SPEECH_JOBS else DEFAULT_QUEUE
