"""The Celery application Mina sends jobs through, configured from ``Settings``.

One task, ``mina.run_job(job_name, ids)``, carries every job; the job functions stay plain
functions (``mina.jobs.registry.BUILTIN_JOBS``). Jobs that decode speech or voices go on the
``speech`` queue, so a deployment can give them their own machines; the rest on ``default``.
Acknowledged late, rejected (so delivered again) when the worker process dies, one message
prefetched per process: a job whose worker dies is not lost.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from kombu.utils.url import maybe_sanitize_url

from mina.jobs.routing import DEFAULT_QUEUE, QUEUES, SPEECH_QUEUE, queue_for
from mina.settings import Settings

__all__ = ["DEFAULT_QUEUE", "QUEUES", "SPEECH_QUEUE", "create_celery", "queue_for"]

TASK_NAME = "mina.run_job"
# How long a check of the broker at start-up waits before the process refuses to start.
CONNECT_TIMEOUT_S = 5.0
# Redis only: a message not acknowledged for this long is delivered again. The jobs table
# decides whether a delivery runs (a duplicate of a live job is skipped), so this is only a
# backstop behind the dispatcher, which sends a job again when its worker stops beating.
VISIBILITY_TIMEOUT_S = 3600


def safe_url(url: str) -> str:
    """The broker URL without its password, for messages and logs."""
    return str(maybe_sanitize_url(url))


def create_celery(
    settings: Settings, run_job: Callable[[str, dict[str, int]], None] | None = None
) -> Celery:
    """The Celery application for ``settings.queue_url``; ``run_job`` (workers only) is what
    the task calls. Nothing connects until a message is sent or a worker starts."""
    if not settings.queue_url:
        raise ValueError("MINA_QUEUE_URL is not set")
    app = Celery("mina", broker=settings.queue_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=DEFAULT_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_timeout=CONNECT_TIMEOUT_S,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
        },
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
    )
    if run_job is not None:
        job = run_job

        @app.task(name=TASK_NAME, ignore_result=True)  # type: ignore[untyped-decorator]
        def _run_job(job_name: str, ids: dict[str, int]) -> None:
            job(job_name, ids)

    return app


def check_broker(app: Celery, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Connect to the broker once; ``ConnectionError`` naming it (without its password) when
    it does not answer within about ``timeout_s``."""
    url = str(app.conf.broker_url)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0.5, timeout=timeout_s
            )
    except Exception as exc:
        raise ConnectionError(
            f"cannot reach the job queue at {safe_url(url)} (MINA_QUEUE_URL): {exc}"
        ) from exc
