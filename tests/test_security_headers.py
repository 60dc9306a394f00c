"""The security headers: every page (and every other response) carries a Content-Security-Policy
that admits no inline script but the nonced import maps, a Permissions-Policy that keeps the
microphone and screen capture to this origin, and Strict-Transport-Security on https only (the
same notion of https as the Secure cookie flag, behind a proxy too). Templates and page scripts
hold nothing the policy would refuse. Both databases."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import sharing
from mina.models import utcnow
from mina.settings import Settings
from mina.web.app import create_app
from mina.web.rendering import TEMPLATE_DIR
from tests.browser import run_mina
from tests.conftest import TEST_SECRET
from tests.meetingdata import Said, add_meeting, principal_of

STATIC_JS = Path(TEMPLATE_DIR).parent / "static" / "js"
PUBLIC_PAGES = {"/login", "/signup"}  # what an anonymous visitor sees; the rest needs a login
DATA_SCRIPT_TYPES = {"application/json"}  # inline blocks a browser never runs


def parse_policy(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as directive -> sources."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice in {header!r}"
        directives[name] = sources
    return directives


def page_paths(app: FastAPI) -> set[str]:
    """Every page of the app: its GET routes outside the API schema (the OpenAPI document
    itself aside)."""
    return {
        route.path
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        and not route.original_route.include_in_schema
        and "GET" in (route.methods or ())
    }


class ScriptTags(HTMLParser):
    """The <script> tags of a page: their attributes, and whether they hold inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))


def assert_page_headers(response: httpx.Response, *, https: bool = False) -> dict[str, list[str]]:
    where = f"{response.request.method} {response.request.url.path}"
    policy = parse_policy(response.headers["content-security-policy"])
    script_src = policy["script-src"]
    assert "'self'" in script_src, where
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "blob:"} & set(script_src)
    assert not [s for s in script_src if s.startswith(("http:", "https:"))], where
    assert policy["object-src"] == ["'none'"], where
    assert policy["base-uri"] == ["'none'"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["connect-src"] == ["'self'"], where
    assert policy["default-src"] == ["'self'"], where
    assert policy["form-action"] == ["'self'"], where
    assert "'unsafe-inline'" not in policy["style-src"], where
    permissions = response.headers["permissions-policy"]
    for feature in ("microphone=(self)", "display-capture=(self)", "camera=()", "geolocation=()"):
        assert feature in permissions.split(", "), (where, permissions)
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert ("strict-transport-security" in response.headers) == https, where
    return policy


def assert_scripts_allowed(response: httpx.Response, policy: dict[str, list[str]]) -> None:
    """Every inline script of an HTML page is a data block or carries the response's nonce."""
    nonces = {s[len("'nonce-") : -1] for s in policy["script-src"] if s.startswith("'nonce-")}
    tags = ScriptTags()
    tags.feed(response.text)
    for script in tags.scripts:
        if script.get("src") or script.get("type") in DATA_SCRIPT_TYPES:
            continue
        assert script.get("nonce") in nonces, (response.request.url.path, script, nonces)


def test_every_page_sends_the_policies(
    app: FastAPI, user_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = add_meeting(
        db,
        principal=principal_of(db, "ada@example.com"),
        audio_dir=settings.audio_dir,
        title="Policies",
        started_at=utcnow() - timedelta(hours=1),
        said=[Said("the headers are in place", 0, 2_000, "Ada")],
        audio_s=3,
    )
    token = sharing.create_link(db, meeting=meeting, user_id=None, include_audio=True).token
    db.commit()
    paths = page_paths(app)
    assert {"/live", "/dashboard/meeting/{meeting_id}", "/docs", "/settings", "/s/{token}"} <= paths
    visited = [p.replace("{meeting_id}", str(meeting.id)).replace("{token}", token) for p in paths]
    assert all("{" not in p for p in visited), visited
    anonymous = TestClient(app)
    policies = []
    for path in [*visited, "/no-such-page", "/dashboard/meeting/999999"]:
        response = user_client.get(path, follow_redirects=False)
        # /metrics answers loopback clients only (the test client's address is "testclient")
        expected = (403,) if path == "/metrics" else (200, 303, 404)
        assert response.status_code in expected, (path, response.status_code)
        policy = assert_page_headers(response)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert_scripts_allowed(response, policy)
            policies.append(policy)
    for path in PUBLIC_PAGES:
        response = anonymous.get(path)
        assert response.status_code == 200
        assert_scripts_allowed(response, assert_page_headers(response))
    # a nonce is drawn for each response, never reused
    nonces = [source for policy in policies for source in policy["script-src"][1:]]
    assert len(nonces) == len(policies) and len(set(nonces)) == len(nonces), nonces


def test_the_import_map_carries_the_nonce_of_its_response(user_client: TestClient) -> None:
    nonces = set()
    for _ in range(2):
        response = user_client.get("/live")
        policy = parse_policy(response.headers["content-security-policy"])
        (nonce,) = [s for s in policy["script-src"] if s.startswith("'nonce-")]
        assert re.fullmatch(r"'nonce-[A-Za-z0-9_-]{22,}'", nonce), nonce
        assert f'<script type="importmap" nonce="{nonce[7:-1]}">' in response.text
        nonces.add(nonce)
    assert len(nonces) == 2


def test_other_responses_carry_the_headers_too(user_client: TestClient) -> None:
    for path in ("/api/me", "/healthz", "/openapi.json", "/static/js/live.js", "/api/nope"):
        assert_page_headers(user_client.get(path))


def test_a_crash_page_carries_the_headers_too(app: FastAPI) -> None:
    """A 500 leaves through Starlette's outermost middleware, past the one adding headers."""

    def crash() -> None:
        raise RuntimeError("a fault injected by the test")

    app.add_api_route("/crash", crash, include_in_schema=False)
    client = TestClient(app, raise_server_exceptions=False)
    page = client.get("/crash")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert_page_headers(page)
    as_json = client.get("/crash", headers={"Accept": "application/json"})
    assert as_json.status_code == 500 and as_json.json()["error"]["code"] == "internal_error"
    assert_page_headers(as_json)


def test_docs_alone_admit_data_images(user_client: TestClient) -> None:
    docs = parse_policy(user_client.get("/docs").headers["content-security-policy"])
    page = parse_policy(user_client.get("/dashboard").headers["content-security-policy"])
    assert docs["img-src"] == ["'self'", "data:"]
    assert page["img-src"] == ["'self'"]
    assert docs["script-src"][0] == page["script-src"][0] == "'self'"
    assert page["style-src"] == docs["style-src"] == ["'self'"]


def test_hsts_on_https_only(app: FastAPI) -> None:
    plain = TestClient(app).get("/login")
    assert_page_headers(plain, https=False)
    secure = TestClient(app, base_url="https://mina.example").get("/login")
    assert_page_headers(secure, https=True)
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    assert "Secure" in secure.headers["set-cookie"]


@pytest.mark.parametrize(
    ("secure_cookies", "on_http", "on_https"),
    [
        ("always", True, True),
        ("never", False, False),
    ],
)
def test_hsts_follows_the_secure_cookie_setting(
    settings: Settings, secure_cookies: str, on_http: bool, on_https: bool
) -> None:
    app = create_app(settings.model_copy(update={"secure_cookies": secure_cookies}))
    for base, expected in (("http://mina.example", on_http), ("https://mina.example", on_https)):
        response = TestClient(app, base_url=base).get("/login")
        assert_page_headers(response, https=expected)
        assert ("Secure" in response.headers["set-cookie"]) == expected


def test_hsts_behind_a_proxy(tmp_path: Path) -> None:
    """``mina serve`` trusts X-Forwarded-Proto from the local proxy: https there means HSTS
    and a Secure cookie, as plain http means neither."""
    settings = {"MINA_ENGINE": "fake", "MINA_VAD": "energy", "MINA_SECRET_KEY": TEST_SECRET}
    with run_mina(tmp_path / "data", tmp_path / "mina.log", settings) as base:
        proxied = httpx.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"})
        direct = httpx.get(f"{base}/login")
    assert_page_headers(proxied, https=True)
    assert "Secure" in proxied.headers["set-cookie"]
    assert_page_headers(direct, https=False)
    assert "Secure" not in direct.headers["set-cookie"]


# -- what the templates and the page scripts hold -------------------------------------------


class InlineCode(HTMLParser):
    """Everything in a template that a policy without 'unsafe-inline' refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = f"line {self.getpos()[0]}: <{tag}>"
        named = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{where} has an event handler attribute {name}")
            if name == "style":
                self.found.append(f"{where} has a style attribute")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"{where} has a javascript: URL in {name}")
        if tag == "style":
            self.found.append(f"{where} is an inline stylesheet")
        if tag == "script" and not named.get("src"):
            kind = named.get("type")
            if kind == "importmap":
                if named.get("nonce") != "{{ csp_nonce }}":
                    self.found.append(f"{where} is an import map without the response's nonce")
            elif kind not in DATA_SCRIPT_TYPES:
                self.found.append(f"{where} is an inline script (type {kind!r})")


@pytest.mark.parametrize("template", sorted(p.name for p in Path(TEMPLATE_DIR).glob("*.html")))
def test_no_template_holds_inline_code(template: str) -> None:
    parser = InlineCode()
    parser.feed((Path(TEMPLATE_DIR) / template).read_text(encoding="utf-8"))
    assert not parser.found, f"{template}: " + "; ".join(parser.found)


# Markup a script writes with innerHTML is held to the same policy; so is code from strings.
REFUSED_IN_SCRIPTS = {
    "an event handler attribute in markup": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "a style attribute in markup": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "a style or handler attribute set": re.compile(r"setAttribute\(\s*[\"'](style|on[a-z]+)"),
    "code from a string": re.compile(r"\beval\(|new Function\(|set(Timeout|Interval)\(\s*[\"'`]"),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


@pytest.mark.parametrize(
    "script", sorted(str(p.relative_to(STATIC_JS)) for p in STATIC_JS.rglob("*.js"))
)
def test_no_page_script_writes_what_the_policy_refuses(script: str) -> None:
    text = (STATIC_JS / script).read_text(encoding="utf-8")
    found = [what for what, pattern in REFUSED_IN_SCRIPTS.items() if pattern.search(text)]
    assert not found, f"{script}: {', '.join(found)}"


def test_the_scans_catch_what_they_look_for() -> None:
    parser = InlineCode()
    parser.feed(
        '<button onclick="go()">Go</button><p style="color: red"></p><script>go()</script>'
        '<script type="module">go()</script><script type="importmap">{}</script>'
        '<a href="javascript:go()">go</a><style>p {}</style>'
        '<script type="application/json">{}</script><script src="/static/js/a.js"></script>'
    )
    assert len(parser.found) == 7, parser.found
    for sample in (
        'el.innerHTML = `<img src=x onerror="go()">`',
        "eval(code)",
        'x = "<p style=a>"',
    ):
        assert any(p.search(sample) for p in REFUSED_IN_SCRIPTS.values()), sample
