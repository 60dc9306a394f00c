"""A real ``mina serve`` process: start, account and token, CPU and memory, kill, stop.

The benchmarks and the tests that need a real server process (the browser tests, the kill -9
test) all start it here. CPU time and memory are read from ``/proc/<pid>`` (Linux), so no extra
dependency is needed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

# settings the benchmark chooses itself; other MINA_* variables pass through
_OWN_SETTINGS = (
    "MINA_DATA_DIR",
    "MINA_DATABASE_URL",
    "MINA_LOG_LEVEL",
    "MINA_ENGINE",
    "MINA_MODEL",
    "MINA_VAD",
    "MINA_HOST",
    "MINA_PORT",
)
_TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(RuntimeError):
    """The server did not start or a CLI call failed; the message holds the log tail."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def passed_settings() -> dict[str, str]:
    """The MINA_* settings from the environment that reach the server unchanged."""
    return {k: v for k, v in os.environ.items() if k.startswith("MINA_") and k not in _OWN_SETTINGS}


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (its threads included)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15)


def process_memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak resident set) in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs together, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # without guest time, which user time already counts
    return total - idle, total


def machine_description() -> str:
    """The CPU the figures were measured on: its model, cores and widest vector instructions.

    Speech decoding speed differs between 2-core machines: one live stream has cost 0.35 server
    CPU seconds per audio second on one and 0.87 on an AVX2-only AMD EPYC (where tiny.en's
    encoder takes 0.9 s for a 30 s window on one core), so a figure means little without this.
    """
    model, flags = "unknown CPU", set[str]()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            break
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
    vector = ", ".join(flag.upper() for flag in wanted if flag in flags) or "no AVX2"
    return f"{model}, {os.cpu_count()} cores, {vector}"


@dataclass(frozen=True)
class Model:
    """The speech model every server of the run loads, and the data dir it was built in."""

    name: str
    data_dir: Path

    @classmethod
    def prepare(cls, name: str, workdir: Path) -> Model:
        """Find the model before any server starts; base is assembled here once."""
        from mina.engines.whisper import resolve_model

        data_dir = workdir / "model"
        resolve_model(name, data_dir=data_dir)
        return cls(name, data_dir)

    def seed(self, data_dir: Path) -> None:
        """Give a server's data dir hard links to a built model (it checks the digest itself)."""
        built = self.data_dir / "models"
        if built.is_dir():
            shutil.copytree(built, data_dir / "models", copy_function=os.link)


class ServerProcess:
    """``python -m mina serve`` on a free loopback port with its data in ``data_dir``.

    By default it runs as ``make run`` does (SQLite in ``data_dir``, whisper tiny.en, Silero
    VAD), with the other ``MINA_*`` variables of the environment passed through; ``settings``
    overrides any of them, and ``inherit_settings=False`` passes none from the environment. The
    log goes to a file (a pipe nobody reads would fill up and stall the server). It can be
    killed and started again on the same port and data.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        log_level: str = "INFO",
        settings: dict[str, str] | None = None,
        inherit_settings: bool = True,
        log_path: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path or data_dir.parent / f"{data_dir.name}-server.log"
        self.port = free_port()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in _OWN_SETTINGS and (inherit_settings or not k.startswith("MINA_"))
        }
        self.env.update(MINA_DATA_DIR=str(data_dir), MINA_LOG_LEVEL=log_level, **(settings or {}))
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self._log or self.log_path.open("ab")  # a restart appends to the same log
        self._log = log
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mina", "serve", "--port", str(self.port)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise ServerFailed(
                        f"mina serve exited with status {self._process.returncode} "
                        f"before answering:\n{self.log_tail()}"
                    )
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise ServerFailed(
            f"mina serve did not answer within {timeout_s:.0f} s:\n{self.log_tail()}"
        )

    def wait_for_log(self, needle: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.2)
        return False

    def cli(self, *args: str, stdin: str = "", timeout_s: float = 60.0) -> str:
        """Run ``python -m mina ARGS`` against this server's data directory; its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "mina", *args],
            env=self.env,
            input=stdin.encode(),
            capture_output=True,
            timeout=timeout_s,
        )
        if done.returncode != 0:
            raise ServerFailed(
                f"mina {' '.join(args)} failed ({done.returncode}): "
                f"{done.stderr.decode(errors='replace')[-2000:]}"
            )
        return done.stdout.decode().strip()

    def create_token(self, email: str, password: str) -> str:
        self.cli("user", "create", email, "--password-stdin", stdin=password + "\n")
        return self.cli("token", "create", email).splitlines()[-1].strip()

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def memory_kib(self) -> dict[str, int]:
        return process_memory_kib(self.pid)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: the server dies at once, and no shutdown hook runs."""
        assert self._process is not None
        self._process.kill()
        self._process.wait(timeout=10)
        self._process = None

    def stop(self) -> None:
        """Terminate (then kill) the server; safe to call more than once."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log, self._log = self._log, None
        if log is not None:
            log.close()
