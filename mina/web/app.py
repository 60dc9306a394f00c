"""``create_app(settings)``: the one place the web application is assembled."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mina import __version__, playback, uploads
from mina.cluster import shared_state
from mina.db import create_db_engine, create_session_factory, in_thread_to_the_end
from mina.engines import SpeechEngine, load_engine
from mina.jobs.base import JobQueue
from mina.jobs.leases import Lease, new_holder
from mina.jobs.runner import JobRunner
from mina.live import recovery
from mina.live.config import StreamConfig
from mina.live.pacing import StepPacer
from mina.live.services import LiveServices
from mina.observability.context import RequestIds
from mina.observability.http import HttpMetrics
from mina.observability.metrics import LiveState, Metrics
from mina.privacy.retention import HOUSEKEEPING_LEASE_S, keep_tidy
from mina.security import CookieSigner
from mina.semantic.backfill import waiting_for_embedding
from mina.semantic.index import VectorIndex
from mina.semantic.model import DEFAULT_MODEL, load_in_background
from mina.settings import Settings
from mina.speakers.live import LiveSpeakers
from mina.web import (
    account_api,
    analytics_api,
    api,
    ask_page,
    auth,
    comments_api,
    docs,
    exports_api,
    insights_api,
    invite_page,
    meetings_api,
    metrics_api,
    notifications_api,
    pages,
    search_api,
    segments_api,
    shared_page,
    shares_api,
    speakers_api,
    tasks_api,
    tasks_page,
    team_api,
    uploads_api,
    webhooks_api,
    ws,
)
from mina.web.cookies import SessionCookieMiddleware
from mina.web.deps import single_query_values
from mina.web.errors import install_error_handlers
from mina.web.proxies import ForwardedHeaders
from mina.web.rendering import create_templates
from mina.web.security_headers import SecurityHeadersMiddleware
from mina.webhooks.sender import WebhookSender

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# threads for the fsyncs before acks: a tick of many streams syncs them side by side
AUDIO_SYNC_THREADS = 4
logger = logging.getLogger(__name__)
access_logger = logging.getLogger("mina.access")


# A share link's token is a password for its meeting: never written to the log.
_SHARE_TOKEN = re.compile(r"^/s/[^/]+")


def logged_path(path: str) -> str:
    """The request path as the access log writes it (share tokens masked)."""
    return _SHARE_TOKEN.sub("/s/[token]", path)


class AccessLogMiddleware:
    """One line per request at info level, with the status and the time taken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            client = scope.get("client") or ("-", 0)
            path = logged_path(scope["path"])
            access_logger.info(
                "%s %s %s %d %.1fms",
                client[0],
                scope["method"],
                path,
                status,
                elapsed_ms,
                # fields of their own in structured (json) logs
                extra={
                    "client": client[0],
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round(elapsed_ms, 1),
                },
            )


def prepare_routes(app: FastAPI) -> None:
    """Build every route's request and response models now, before the first request.

    FastAPI builds them lazily, at the first request a route sees; two first requests at once
    (one on the event loop, one in a worker thread) could race in pydantic's schema building,
    and a fresh server answered a health check 500. Matching a path no route has builds them
    all, in ``mina serve`` before it listens."""
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/.mina-prepare-routes",
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for route in app.router.routes:
        route.matches(scope)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for these settings. Nothing is created at import time."""
    settings = settings or Settings()
    settings.prepare_data_dir()
    shared = shared_state(settings)  # in-process, or through Redis (MINA_REDIS_URL)
    engine = create_db_engine(settings.sqlalchemy_url)
    sessions = create_session_factory(engine)
    decode_pool = ThreadPoolExecutor(settings.decode_workers, thread_name_prefix="decode")
    audio_pool = ThreadPoolExecutor(AUDIO_SYNC_THREADS, thread_name_prefix="audio-sync")
    speech_engine: asyncio.Future[SpeechEngine] | None = None
    engine_options = settings.server_engine_options()
    metrics = Metrics()

    def load_timed_engine() -> SpeechEngine:
        loaded = load_engine(settings.engine, **engine_options)
        logger.info(
            "decoding with %d workers of %s thread(s) each (MINA_DECODE_WORKERS, "
            "MINA_DECODE_THREADS)",
            settings.decode_workers,
            getattr(loaded, "cpu_threads", "the engine's default"),
        )
        return metrics.timed(loaded)

    async def engine_loader() -> SpeechEngine:
        """The process's one speech model (its decodes timed for /metrics), loaded off the
        event loop on first use."""
        nonlocal speech_engine
        if speech_engine is None:
            speech_engine = asyncio.ensure_future(asyncio.to_thread(load_timed_engine))
        return await asyncio.shield(speech_engine)

    stream_config = StreamConfig(vad=settings.vad)
    jobs: JobQueue
    if settings.queue_url:
        from mina.jobs.dispatcher import CeleryDispatcher  # Celery only when it is used

        jobs = CeleryDispatcher(sessions=sessions, settings=settings)
    else:
        jobs = JobRunner(
            sessions=sessions,
            load_engine=functools.partial(load_engine, settings.engine, **engine_options),
            decode_pool=decode_pool,
            settings=settings,
            stream_config=stream_config,
        )

    # periodic work that one process of several does (the default single one does it all)
    holder = new_holder()
    recovery_every_s = max(1.0, settings.stale_after_s / 3)
    leases = {
        "recovery": Lease(sessions, "recovery", ttl_s=3 * recovery_every_s, holder=holder),
        "housekeeping": Lease(sessions, "housekeeping", ttl_s=HOUSEKEEPING_LEASE_S, holder=holder),
        "webhooks": Lease(sessions, "webhooks", ttl_s=30.0, holder=holder),
    }
    webhooks = WebhookSender(sessions=sessions, settings=settings, lease=leases["webhooks"])

    def recording_finished(meeting_id: int) -> None:
        jobs.enqueue(playback.JOB_NAME, meeting_id=meeting_id)

    live = LiveServices(
        sessions=sessions,
        engine_loader=engine_loader,
        decode_pool=decode_pool,
        audio_pool=audio_pool,
        bus=shared.bus,
        stream_config=stream_config,
        resume_grace_s=settings.resume_grace_s,
        heartbeat_s=settings.heartbeat_s,
        interim_slots=settings.decode_workers,
        recording_finished=recording_finished,
        after_jobs=settings.post_meeting_jobs,
        live_speakers=LiveSpeakers if settings.live_speakers else None,
        leases=shared.leases,
        word_lag=metrics.word_lag_seconds.observe,
        pacer=StepPacer(
            replicas=settings.decode_workers,
            min_step_s=stream_config.min_step_s,
            max_step_s=stream_config.max_step_s,
        ),
    )
    metrics.watch(
        live=LiveState(
            streams=lambda: len(live.recorders),
            # the pool's own queue: work submitted and not yet taken by a decode thread
            decode_queue=lambda: decode_pool._work_queue.qsize(),
            unacked_bytes=lambda: sum(r.unacked_bytes for r in list(live.recorders.values())),
        ),
        sessions=sessions,
    )
    if shared.leases is not None:
        shared.leases.on_taken(live.taken_elsewhere)

    async def recover_forever() -> None:
        """At start-up and then periodically: recover recordings whose server died (in the
        process holding the recovery lease)."""
        while True:
            try:
                if not await in_thread_to_the_end(leases["recovery"].held):
                    await asyncio.sleep(recovery_every_s)
                    continue
                speech = await engine_loader()
                recovered = await asyncio.get_running_loop().run_in_executor(
                    decode_pool,
                    functools.partial(
                        recovery.recover_stale,
                        sessions,
                        speech,
                        stale_after_s=settings.stale_after_s,
                        config=live.stream_config,
                        held=frozenset(live.recorders),
                        after=settings.post_meeting_jobs,
                    ),
                )
                for item in recovered:
                    logger.info("meeting %s completed by recovery", item.meeting_id)
                    # its viewers (following a recording whose server died) see it end
                    live.bus.publish(
                        item.meeting_id, {"type": "stopped", "meeting_id": item.meeting_id}
                    )
            except Exception:
                logger.exception("recovery pass failed")
            await asyncio.sleep(recovery_every_s)

    def remove_abandoned_uploads() -> None:
        try:
            uploads.remove_abandoned_files(sessions, settings.upload_dir)
        except Exception as exc:
            logger.warning("could not look for abandoned uploads: %s", exc)

    def check_embedding_model() -> None:
        try:
            with sessions() as session:
                note = waiting_for_embedding(session, model=settings.embedding_model)
        except Exception as exc:
            logger.warning("could not look for meetings embedded with another model: %s", exc)
            return
        if note:
            logger.warning("%s", note)

    vector_index = VectorIndex(model=settings.embedding_model)
    serving = 0  # lifespans running: the last one to end releases what they share

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        nonlocal serving
        serving += 1
        if serving == 1:
            await shared.start()
        recovering = asyncio.create_task(recover_forever(), name="recovery")
        await asyncio.to_thread(jobs.start)
        await asyncio.to_thread(webhooks.start)
        if serving == 1 and settings.semantic_search and settings.embedding_model != DEFAULT_MODEL:
            load_in_background(settings.embedding_model)  # mpnet takes about 10 s to load
        tidying = asyncio.create_task(asyncio.to_thread(remove_abandoned_uploads))
        checking = None
        if serving == 1 and settings.semantic_search:
            checking = asyncio.create_task(asyncio.to_thread(check_embedding_model))
        housekeeping = asyncio.create_task(
            keep_tidy(sessions, settings, leases["housekeeping"]), name="housekeeping"
        )
        try:
            yield
        finally:
            housekeeping.cancel()
            with suppress(asyncio.CancelledError):
                await housekeeping
            recovering.cancel()
            with suppress(asyncio.CancelledError):
                await recovering
            await tidying
            if checking is not None:
                await checking
            await asyncio.to_thread(jobs.stop)
            await asyncio.to_thread(webhooks.stop)
            serving -= 1
            # another lifespan of this app may still serve (tests open several clients): the
            # leases, the recordings, the decode pool and the database stay with it
            if not serving:
                for lease in leases.values():  # another process takes the periodic work at once
                    await asyncio.to_thread(lease.release)
                for recorder in list(live.recorders.values()):
                    await recorder.suspend()
                await shared.stop()
                decode_pool.shutdown(wait=True, cancel_futures=True)
                audio_pool.shutdown(wait=True)
                await asyncio.to_thread(vector_index.wait_for_rebuilds)
                engine.dispose()

    app = FastAPI(
        title="Mina",
        version=__version__,
        description="Self-hosted live meeting transcription. Authenticate with "
        "`Authorization: Bearer TOKEN` (create tokens on /settings or with `mina token create`).",
        lifespan=lifespan,
        docs_url=None,  # served by web/docs.py from vendored files
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.live = live
    app.state.jobs = jobs
    app.state.leases = leases
    app.state.webhooks = webhooks
    app.state.templates = create_templates()
    app.state.shared = shared
    app.state.login_throttle = shared.login_throttle
    app.state.share_limiter = shared.share_limiter
    app.state.access = shared.access
    app.state.vector_index = vector_index
    app.state.metrics = metrics
    signer = CookieSigner(settings.resolved_secret_key(), settings.session_max_age_days * 86400)
    app.state.cookie_signer = signer

    install_error_handlers(app)
    for pages_router in (auth, pages, tasks_page, shared_page, ask_page, invite_page, ws, docs):
        app.include_router(pages_router.router)
    # every parameter of the API is one value: one given twice is refused, not half-read
    one_value_each = [Depends(single_query_values)]
    for api_router in (
        api,
        meetings_api,
        uploads_api,
        exports_api,
        segments_api,
        speakers_api,
        insights_api,
        tasks_api,
        shares_api,
        comments_api,
        notifications_api,
        analytics_api,
        account_api,
        webhooks_api,
        team_api,
        search_api,
        metrics_api,
    ):
        app.include_router(api_router.router, dependencies=one_value_each)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(SessionCookieMiddleware, signer=signer, secure=settings.secure_cookies)
    app.add_middleware(SecurityHeadersMiddleware, secure=settings.secure_cookies)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(HttpMetrics, metrics=metrics)
    app.add_middleware(RequestIds)  # around the access log and metrics: every line has its id
    # outermost: the real client, scheme and host when a trusted proxy forwards the request
    app.add_middleware(ForwardedHeaders, trusted_proxies=settings.trusted_proxies)
    return app
