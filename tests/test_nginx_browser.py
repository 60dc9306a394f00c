"""Behind a real nginx terminating TLS (a self-signed certificate) on a non-standard port, with
the proxy block most guides give: Chromium signs up, records real speech from a fake microphone
through ``wss://``, and finds the meeting completed; the session cookie is Secure and a share
link starts with the address people use. Once with ``Host $host`` (which drops the port: the
case MINA_PUBLIC_URL exists for) and once with ``Host $http_host`` (no setting needed)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from bench.server import free_port
from tests.browser import (
    FakeMicrophone,
    WatchedContext,
    launch_chromium,
    make_fake_microphone,
    run_mina,
    screenshots_on_failure,
    sign_up,
)
from tests.conftest import PASSWORD
from tests.test_browser import start_recording, stop_recording

pytestmark = pytest.mark.slow

NGINX = "/usr/sbin/nginx"
CONFIG = """
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {dir}/cert.pem;
    ssl_certificate_key {dir}/key.pem;
    client_max_body_size 0;
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_http_version 1.1;
      proxy_set_header Host {host};
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 3600s;
    }}
  }}
}}
"""


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> FakeMicrophone:
    return make_fake_microphone(tmp_path_factory.mktemp("mic") / "speech.wav", ["jfk"])


@pytest.fixture(scope="module")
def browser(microphone: FakeMicrophone) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, microphone)
        yield chromium
        chromium.close()


@contextmanager
def nginx(directory: Path, port: int, upstream: int, host: str) -> Iterator[str]:
    """nginx in the foreground on 127.0.0.1:port with TLS, proxying to 127.0.0.1:upstream."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem"),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    user = "user root;" if os.geteuid() == 0 else ""
    conf = directory / "nginx.conf"
    conf.write_text(
        CONFIG.format(user=user, dir=directory, port=port, upstream=upstream, host=host)
    )
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
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield f"https://localhost:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("host", "public_url"),
    [("$host", True), ("$http_host", False)],
    ids=["host-without-port+public-url", "http-host"],
)
def test_record_through_nginx_with_tls(
    browser: Browser,
    microphone: FakeMicrophone,
    tmp_path: Path,
    host: str,
    public_url: bool,
) -> None:
    port = free_port()
    public = f"https://localhost:{port}"
    settings = {"MINA_PUBLIC_URL": public} if public_url else {}
    with run_mina(tmp_path / "data", tmp_path / "mina.log", settings) as upstream_base:
        upstream = int(upstream_base.rsplit(":", 1)[1])
        with nginx(tmp_path / "nginx", port, upstream, host) as base:
            assert base == public
            watched = WatchedContext(
                browser.new_context(
                    ignore_https_errors=True, viewport={"width": 1280, "height": 900}
                )
            )
            page = watched.new_page()
            with screenshots_on_failure(tmp_path, page=page):
                sign_up(page, base, f"ada-{secrets.token_hex(3)}@example.com", "Ada", PASSWORD)
                cookie = next(c for c in watched.context.cookies() if c["name"] == "mina_session")
                assert cookie["secure"] is True
                start_recording(page, base, f"Through nginx ({host})")
                expect(page.locator("#live-transcript")).to_contain_text(
                    "country", ignore_case=True, timeout=30_000
                )
                stop_recording(page)
                page.get_by_role("link", name="Open the meeting").click()
                expect(page.locator("#meeting-status")).to_have_attribute(
                    "data-status", "completed", timeout=30_000
                )
                meeting_id = page.locator("#meeting-app").get_attribute("data-meeting-id")
                made = page.evaluate(
                    """async (id) => {
                      const csrf = document.querySelector('meta[name="csrf-token"]').content;
                      const answer = await fetch(`/api/meetings/${id}/shares`, {
                        method: "POST",
                        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                        body: JSON.stringify({expires_in_days: 1}),
                      });
                      return answer.json();
                    }""",
                    meeting_id,
                )
                assert made["url"].startswith(f"{public}/s/"), made
            watched.context.close()
            watched.check()
