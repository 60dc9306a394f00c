"""Request dependencies: the database session, who is asking, and CSRF checks."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from mina import security, store
from mina.models import User
from mina.settings import Settings
from mina.teams.roles import DENIED, Action, may
from mina.web.errors import ApiError, LoginRequired

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
WORKSPACE_HEADER = "x-mina-workspace"
SESSION_WORKSPACE = "ws"  # the workspace a signed-in browser acts in (the page switcher sets it)


def single_query_values(request: Request) -> None:
    """Refuse a query parameter given twice: every parameter of the API is one value, and
    FastAPI would quietly keep the last one, answering a client that meant a list for one item."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = sorted(key for key, count in counts.items() if count > 1)
    if repeated:
        raise ApiError(422, "validation_error", f"Invalid request: {repeated[0]} is given twice.")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """A session for this request. Handlers that write call ``db.commit()`` themselves."""
    session: Session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


Db = Annotated[Session, Depends(get_db)]


def session_data(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = request.scope["session"]
    return data


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (anonymous visitors get one too)."""
    data = session_data(request)
    token = data.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(24)
        data["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = session_data(request).get("csrf")
    if not expected or not submitted or not security.tokens_equal(str(expected), submitted):
        raise ApiError(
            403, "csrf_failed", "The form expired or came from another site. Reload and try again."
        )


def login(request: Request, user: User) -> None:
    """Start a fresh signed-in session (new CSRF token, so a planted one is useless)."""
    data = session_data(request)
    data.clear()
    data["uid"] = user.id
    data["pf"] = security.password_fingerprint(user.password_hash)
    data["csrf"] = secrets.token_urlsafe(24)


def logout(request: Request) -> None:
    session_data(request).clear()


def cookie_user(db: Session, data: dict[str, Any]) -> User | None:
    """The user a session cookie names, if still active and their password unchanged."""
    uid = data.get("uid")
    if not isinstance(uid, int):
        return None
    user = store.get_user(db, user_id=uid)
    if user is None or not user.is_active:
        return None
    if data.get("pf") != security.password_fingerprint(user.password_hash):
        return None
    return user


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# Declares the Bearer scheme in the OpenAPI document (and Swagger UI's Authorize button);
# api_principal reads the header itself, so a malformed one answers invalid_token.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token from /settings or `mina token create`. Pages' own requests use "
    "the session cookie instead, with an X-CSRF-Token header on writes.",
)


def api_principal(
    request: Request,
    db: Db,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> store.Principal:
    """Who calls the API, and in which workspace: a Bearer token (acting in its workspace), or
    the session cookie (in the workspace the switcher chose) plus a CSRF header on writes. An
    ``X-Mina-Workspace`` header names another of the caller's workspaces; one they are not a
    member of answers 404, like any id that is not theirs."""
    authorization = request.headers.get("authorization")
    preferred: int | None
    if authorization:
        token = bearer_token(authorization)
        found = store.get_token(db, token=token) if token else None
        if found is None:
            raise ApiError(
                401,
                "invalid_token",
                "The API token is missing, malformed or revoked.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        api_token, user = found
        preferred = api_token.workspace_id
    else:
        data = session_data(request)
        signed_in = cookie_user(db, data)
        if signed_in is None:
            raise ApiError(
                401,
                "unauthenticated",
                "Sign in or send an API token (Authorization: Bearer).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if request.method not in SAFE_METHODS:
            check_csrf(request, request.headers.get(CSRF_HEADER))
        user = signed_in
        chosen = data.get(SESSION_WORKSPACE)
        preferred = chosen if isinstance(chosen, int) else None
    principal = choose_workspace(
        db, user, preferred=preferred, named=request.headers.get(WORKSPACE_HEADER)
    )
    if principal is None:
        raise ApiError(404, "not_found", "Workspace not found.")
    db.commit()
    return principal


def choose_workspace(
    db: Session, user: User, *, preferred: int | None, named: str | None
) -> store.Principal | None:
    """The user acting in the workspace an ``X-Mina-Workspace`` header names (None when it is
    not one of theirs), else in ``preferred`` (the token's, or the session's) when they are
    still a member of it, else in their first workspace. The API and the WebSockets share it."""
    if named is None:
        return store.get_principal(db, user=user, workspace_id=preferred)
    workspace_id = int(named) if named.strip().isdigit() else 0
    return store.find_principal(db, user=user, workspace_id=workspace_id)


def page_principal(request: Request, db: Db) -> store.Principal:
    """Who is looking at a page; anyone else is sent to /login and brought back afterwards."""
    data = session_data(request)
    user = cookie_user(db, data)
    if user is None:
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(next_path)
    chosen = data.get(SESSION_WORKSPACE)
    principal = store.get_principal(
        db, user=user, workspace_id=chosen if isinstance(chosen, int) else None
    )
    db.commit()
    return principal


def permit(action: Action) -> Any:
    """A dependency: the API caller, when their role in the workspace allows ``action``;
    403 ``forbidden`` otherwise (decided before any id is looked up, so it tells nothing)."""

    def check(principal: Annotated[store.Principal, Depends(api_principal)]) -> store.Principal:
        if not may(principal.role, action):
            raise ApiError(403, "forbidden", DENIED[action])
        return principal

    return Depends(check)


def permit_page(action: Action) -> Any:
    """Like ``permit``, for pages (the error handler shows people a 403 page, not JSON)."""

    def check(principal: Annotated[store.Principal, Depends(page_principal)]) -> store.Principal:
        if not may(principal.role, action):
            raise ApiError(403, "forbidden", DENIED[action])
        return principal

    return Depends(check)


ApiPrincipal = Annotated[store.Principal, Depends(api_principal)]
PagePrincipal = Annotated[store.Principal, Depends(page_principal)]
# The caller, checked against what the route does (mina/teams/roles.py has the table).
Commenter = Annotated[store.Principal, permit(Action.COMMENT)]
Editor = Annotated[store.Principal, permit(Action.EDIT)]
Manager = Annotated[store.Principal, permit(Action.MANAGE)]
Owner = Annotated[store.Principal, permit(Action.OWN)]
PageEditor = Annotated[store.Principal, permit_page(Action.EDIT)]
