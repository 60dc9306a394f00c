"""``mina worker``: a Celery worker process running Mina's jobs (``MINA_QUEUE_URL``)."""

from __future__ import annotations

import logging

import click

from mina.jobs.broker import QUEUES, check_broker, create_celery, safe_url
from mina.settings import Settings

logger = logging.getLogger(__name__)


def require_queue(settings: Settings) -> None:
    """Refuse to start (``mina serve``, ``mina worker``) when the job queue does not answer:
    a server would accept uploads that no worker can be sent."""
    if not settings.queue_url:
        return
    try:
        check_broker(create_celery(settings))
    except ConnectionError as exc:
        raise click.ClickException(str(exc)) from exc
    logger.info("jobs go through %s", safe_url(settings.queue_url))


def _queue_names(value: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in QUEUES]
    if not names or unknown:
        raise click.BadParameter(
            f"{', '.join(unknown) or 'none given'}: choose among {', '.join(QUEUES)}"
        )
    return names


@click.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Jobs run at once, each in its own process (each loads its own speech model).",
)
@click.option(
    "--queues",
    default=",".join(QUEUES),
    show_default=True,
    help="Which queues to take jobs from: speech (uploads, diarization), default (the rest).",
)
def worker_command(concurrency: int, queues: str) -> None:
    """Run background jobs from the queue at MINA_QUEUE_URL (Redis or RabbitMQ)."""
    from mina.cli import _load_settings, _open_database
    from mina.jobs.worker import run_worker

    names = _queue_names(queues)
    settings = _load_settings()
    if not settings.queue_url:
        raise click.ClickException(
            "mina worker needs MINA_QUEUE_URL (redis://... or amqp://...); without it the "
            "server runs the jobs itself"
        )
    require_queue(settings)
    _open_database(settings).dispose()
    logger.info(
        "worker on %s: queues %s, %d at once",
        safe_url(settings.queue_url),
        ", ".join(names),
        concurrency,
    )
    raise SystemExit(run_worker(settings, concurrency=concurrency, queues=names))
