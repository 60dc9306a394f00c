"""Settings read from the environment (``MINA_*``) and validated when constructed."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

WEAK_SECRETS = {"", "secret", "changeme", "change-me", "dev", "development", "mina", "password"}
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Every setting Mina reads. The README's configuration table lists each one."""

    model_config = SettingsConfigDict(env_prefix="MINA_", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Audio, SQLite file, models.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; SQLite in data_dir if empty."
    )
    secret_key: str = Field(
        default="", description="Signs cookies; generated into data_dir if empty."
    )
    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="text: lines for people; json: one JSON object per line."
    )
    metrics_token: str = Field(
        default="",
        description="Bearer token /metrics requires; unset, only loopback clients get it.",
    )
    engine: str = "whisper"
    vad: Literal["silero", "energy"] = "silero"
    model: str = "tiny.en"
    max_upload_mb: int = Field(default=500, ge=1)
    resume_grace_s: float = Field(default=120.0, ge=0)
    idle_timeout_s: float = Field(default=60.0, gt=0)
    decode_workers: int = Field(default=2, ge=1, le=64)
    decode_threads: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Threads of each decode worker's model replica; 0: the cores shared out "
        "among the decode workers (at least 1, at most 4 each).",
    )
    job_workers: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Threads that run background jobs in the server when MINA_QUEUE_URL is "
        "unset; 0: this process runs none (they wait in the jobs table).",
    )
    queue_url: str = Field(
        default="",
        description="A Celery broker, redis://host:6379/0 or amqp://user:password@host:5672//: "
        "jobs run on `mina worker` processes. Unset: in the server process.",
    )
    heartbeat_s: float = Field(default=10.0, gt=0)
    stale_after_s: float = Field(default=30.0, gt=0)
    session_max_age_days: int = Field(default=14, ge=1)
    login_attempts_per_minute: int = Field(default=10, ge=1)
    share_requests_per_minute: int = Field(default=60, ge=1)
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    allow_signup: bool = True
    diarization: bool = Field(
        default=True, description="Label who spoke when after every recording and upload."
    )
    live_speakers: bool = Field(
        default=True, description="Give each live final segment a provisional speaker label."
    )
    insights: str = Field(
        default="auto",
        description="Who makes meeting insights: auto (openai when MINA_LLM_URL is set, else "
        "local), local, openai, another installed provider, or off.",
    )
    llm_url: str = Field(
        default="",
        description="An OpenAI-compatible endpoint (Ollama, llama.cpp, vLLM), e.g. "
        "http://127.0.0.1:11434/v1. Unset: nothing leaves the machine.",
    )
    llm_model: str = Field(default="", description="The model the endpoint should answer with.")
    llm_api_key: str = Field(default="", description="Sent as a Bearer token, when set.")
    llm_timeout_s: float = Field(
        default=120.0, gt=0, description="How long one request to the endpoint may take."
    )
    webhook_allow_private: bool = Field(
        default=True,
        description="Let webhooks target loopback, private and link-local addresses (checked "
        "when a webhook is saved and again at each delivery).",
    )
    semantic_search: bool = Field(
        default=True,
        description="Embed every meeting's passages after it completes, for search by meaning "
        "and Ask (a local model; about 0.4 CPU s per hour of meeting).",
    )
    embedding_model: Literal["minilm", "mpnet"] = Field(
        default="minilm",
        description="The sentence-embedding model of search by meaning and Ask: minilm, or "
        "mpnet (more accurate, about 15x the CPU and 2x the index memory; `make install-mpnet`; "
        "then `mina embed --all --missing` re-embeds the archive).",
    )
    smtp_url: str = Field(
        default="",
        description="Where invite emails are sent: smtp://user:password@host:port (STARTTLS "
        "when offered), smtp+starttls:// or smtps://. Unset: invite links are copied by hand.",
    )
    mail_from: str = Field(
        default="Mina <mina@localhost>", description="The From address of Mina's emails."
    )
    public_url: str = Field(
        default="",
        description="The address people use, e.g. https://mina.example.com: absolute links "
        "(share, invite, webhooks, emails) and the allowed origin of WebSockets.",
    )
    allowed_origins: str = Field(
        default="", description="More origins allowed to open WebSockets, comma-separated."
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="Addresses (comma-separated IPs or CIDRs, or *) whose X-Forwarded-For, "
        "X-Forwarded-Proto, X-Forwarded-Host and Forwarded headers are believed.",
    )
    retention_days: int = Field(
        default=0, ge=0, description="Meetings older than this many days are deleted; 0 keeps all."
    )
    redis_url: str = Field(
        default="",
        description="Redis shared by several web processes (redis://host:6379/0): live events, "
        "recording leases, the login throttle, rate limits. Unset: all in this process.",
    )
    redis_prefix: str = Field(
        default="mina:",
        description="Starts every Redis key and channel name (several deployments on one Redis).",
    )

    def server_engine_options(self) -> dict[str, Any]:
        """How the server loads its one speech engine (live streams and uploads share it).

        The whisper engine gets one model replica per decode worker, so that many decodes run
        at once (a final decode need not wait behind another stream's interim one), each with
        ``decode_threads`` threads, or by default the cores shared out among the replicas
        (``mina.engines.whisper.default_cpu_threads``, with the figures behind it).
        """
        options: dict[str, Any] = {"model": self.model, "data_dir": self.data_dir}
        if self.engine == "whisper":
            options["num_workers"] = self.decode_workers
            if self.decode_threads:
                options["cpu_threads"] = self.decode_threads
        return options

    @model_validator(mode="after")
    def _normalise(self) -> Settings:
        self.data_dir = self.data_dir.expanduser()
        self.database_url = normalise_database_url(self.database_url) if self.database_url else ""
        self.log_level = self.log_level.upper()
        if self.log_level not in logging.getLevelNamesMapping():
            raise ValueError(f"MINA_LOG_LEVEL: unknown level {self.log_level!r}")
        self.public_url = _check_public_url(self.public_url)
        self.allowed_origins = ",".join(
            _check_origin(part, "MINA_ALLOWED_ORIGINS")
            for part in self.allowed_origins.split(",")
            if part.strip()
        )
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                f"MINA_REDIS_URL: {self.redis_url!r} is not a redis://, rediss:// or unix:// URL"
            )
        self.queue_url = _check_queue_url(self.queue_url.strip())
        if self.smtp_url:
            from mina.teams.mail import parse_smtp_url

            parse_smtp_url(self.smtp_url)  # a readable ValueError at start, not at the first invite
        if self.secret_key and self.is_production and is_weak_secret(self.secret_key):
            raise ValueError(
                f"MINA_SECRET_KEY is too weak for production: use at least "
                f"{MIN_SECRET_LENGTH} random characters (python -c 'import secrets; "
                f"print(secrets.token_urlsafe(48))')"
            )
        return self

    @model_validator(mode="after")
    def _check_liveness(self) -> Settings:
        if self.stale_after_s <= self.heartbeat_s * 2:
            raise ValueError("MINA_STALE_AFTER_S must exceed twice MINA_HEARTBEAT_S")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in effect: the configured one, or SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mina.db').resolve()}"

    @property
    def post_meeting_jobs(self) -> tuple[str, ...]:
        """The jobs queued when a meeting completes with audio (DESIGN.md section 8)."""
        jobs = ["diarize"] if self.diarization else []
        if self.insight_provider != "off":
            jobs.append("insights")  # after diarization: owners fall back to speakers
        if self.semantic_search:
            jobs.append("embed")  # after diarization: passages carry speakers
        return tuple(jobs)

    @property
    def insight_provider(self) -> str:
        """The provider that makes insights (``MINA_INSIGHTS``), ``off`` for none."""
        name = self.insights.strip().lower()
        if name == "auto":
            return "openai" if self.llm_url else "local"
        return name

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def export_dir(self) -> Path:
        """Where "Download my data" archives wait for their owner (one folder per user)."""
        return self.data_dir / "exports"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    def prepare_data_dir(self) -> None:
        """Create the data directory tree (idempotent)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.audio_dir.mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        if self.is_production:
            raise ValueError("MINA_SECRET_KEY must be set in production")
        self.prepare_data_dir()
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n")
        path.chmod(0o600)
        logger.info("generated a new secret key in %s", path)
        return key


def _check_origin(value: str, name: str) -> str:
    """``scheme://host[:port]``, lower-cased, without a trailing slash; ValueError otherwise."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name}: {value.strip()!r} is not an http(s)://host[:port] address")
    try:
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        raise ValueError(f"{name}: {value.strip()!r} has a bad port") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            f"{name}: {value.strip()!r} has a path; Mina runs at the root of its address "
            "(serve it from its own host name or port, not under a path prefix)"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


QUEUE_SCHEMES = ("redis", "rediss", "amqp", "amqps")


def _check_queue_url(value: str) -> str:
    """A Celery broker URL Mina supports (Redis or RabbitMQ), or empty."""
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in QUEUE_SCHEMES or not parts.hostname:
        raise ValueError(
            f"MINA_QUEUE_URL: {parts.scheme or value!r} is not a broker Mina supports; use "
            "redis://host:6379/0 or amqp://user:password@host:5672//"
        )
    return value


def _check_public_url(value: str) -> str:
    return _check_origin(value, "MINA_PUBLIC_URL") if value.strip() else ""


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting providers hand out and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_weak_secret(secret: str) -> bool:
    return secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH
