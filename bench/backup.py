"""Backup and restore time of a realistic installation: `mina demo-data` meetings plus audio.

A SQLite data directory gets 200 meetings of about 100 segments each (`mina demo-data`) and
BENCH_BACKUP_AUDIO_MINUTES (default 60) minutes of 16 kHz PCM spread over 12 of its recordings.
The real commands run as processes and are timed: `mina backup` of SQLite, `mina restore` into
a fresh SQLite data directory and, when MINA_TEST_DATABASE_URL names a PostgreSQL server, into a
throwaway PostgreSQL database, then `mina backup` of that PostgreSQL database. BENCH_BACKUP_MEETINGS
and BENCH_BACKUP_SEGMENTS change the size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text

from bench.postgres import server_url, throwaway_database
from bench.stats import emit
from mina.db import create_db_engine

EMAIL = "bench@example.com"
AUDIO_RECORDINGS = 12


def _mina(env: dict[str, str], *args: str, stdin: str = "") -> tuple[str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mina", *args],
        env=env,
        input=stdin.encode(),
        capture_output=True,
        timeout=3600,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"mina {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode().strip(), seconds


def _env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINA_")}
    env.update(
        MINA_DATA_DIR=str(data_dir), MINA_DATABASE_URL=database_url, MINA_LOG_LEVEL="WARNING"
    )
    return env


def _add_audio(data_dir: Path, minutes: float) -> int:
    """Give recordings of the demo meetings PCM files (noise-like speech stand-in)."""
    engine = create_db_engine(f"sqlite:///{data_dir / 'mina.db'}")
    per_file = int(minutes * 60 * 16000 / AUDIO_RECORDINGS) * 2
    rng = np.random.default_rng(1)
    total = 0
    with engine.begin() as connection:
        rows = connection.execute(
            text("SELECT id, workspace_id, external_id FROM sessions ORDER BY id LIMIT :n"),
            {"n": AUDIO_RECORDINGS},
        ).all()
        for recording_id, workspace_id, external_id in rows:
            path = data_dir / "audio" / str(workspace_id) / f"{external_id}.pcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                left = per_file
                while left:
                    block = min(left, 1 << 20)
                    samples = (rng.standard_normal(block // 2) * 3000).astype("<i2")
                    out.write(samples.tobytes())
                    left -= block
            connection.execute(
                text("UPDATE sessions SET audio_path = :path, audio_bytes = :size WHERE id = :id"),
                {"path": str(path), "size": per_file, "id": recording_id},
            )
            total += per_file
    engine.dispose()
    return total


def run() -> None:
    meetings = int(os.environ.get("BENCH_BACKUP_MEETINGS", "200"))
    segments = int(os.environ.get("BENCH_BACKUP_SEGMENTS", "100"))
    minutes = float(os.environ.get("BENCH_BACKUP_AUDIO_MINUTES", "60"))
    with tempfile.TemporaryDirectory(prefix="mina-bench-backup-") as scratch:
        root = Path(scratch)
        _, startup = _mina(_env(root / "unused"), "--version")
        emit(f"   times are of whole commands; `mina --version` alone takes {startup:.1f} s")
        source = _env(root / "source")
        _mina(source, "user", "create", EMAIL, "--password-stdin", stdin="benchmark password")
        made, _ = _mina(
            source,
            "demo-data",
            "--meetings",
            str(meetings),
            "--segments-per-meeting",
            str(segments),
            "--email",
            EMAIL,
        )
        audio = _add_audio(root / "source", minutes)
        emit(f"   {made.splitlines()[-1]}; {audio / 1e6:.0f} MB of PCM in {AUDIO_RECORDINGS} files")
        database = (root / "source" / "mina.db").stat().st_size
        emit(f"   SQLite database: {database / 1e6:.1f} MB")

        archive = root / "sqlite.tar"
        out, seconds = _mina(source, "backup", str(archive))
        emit(f"   backup of SQLite:         {seconds:6.1f} s  ({out})")
        out, seconds = _mina(_env(root / "restored-sqlite"), "restore", str(archive))
        emit(f"   restore into SQLite:      {seconds:6.1f} s")
        server = server_url()
        if server is None:
            emit("   PostgreSQL: skipped (MINA_TEST_DATABASE_URL is not set)")
            return
        with throwaway_database(server, "mina_bench_backup") as url:
            target = _env(root / "restored-postgresql", url)
            out, seconds = _mina(target, "restore", str(archive))
            emit(f"   restore into PostgreSQL:  {seconds:6.1f} s")
            out, seconds = _mina(target, "backup", str(root / "postgresql.tar"))
            emit(f"   backup of PostgreSQL:     {seconds:6.1f} s  ({out})")
