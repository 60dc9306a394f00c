"""Sign up, log in, log out: HTML forms with CSRF tokens and a throttle on failed logins."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from mina import store
from mina.security import LoginThrottle
from mina.teams.invites import open_invite
from mina.web.deps import Db, check_csrf, cookie_user, login, logout, session_data
from mina.web.rendering import flash, render

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    """Only local paths, so a login link cannot bounce people to another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/dashboard"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/")
def index(request: Request, db: Db) -> Response:
    signed_in = cookie_user(db, session_data(request)) is not None
    return RedirectResponse("/dashboard" if signed_in else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, db: Db, next: str | None = None) -> Response:
    if cookie_user(db, session_data(request)) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "email": ""})


@router.post("/login")
def login_submit(
    request: Request,
    db: Db,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    throttle: LoginThrottle = request.app.state.login_throttle
    address = _client_address(request)
    context = {"next": _safe_next(next), "email": email}
    wait = throttle.retry_after(email, address)
    if wait:
        logger.warning("login throttled for %s from %s", store.normalise_email(email), address)
        context["error"] = f"Too many failed attempts. Try again in {wait} seconds."
        response = render(request, "login.html", context, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = store.authenticate(db, email=email, password=password)
    if user is None:
        throttle.record_failure(email, address)
        context["error"] = "That email and password do not match an account."
        return render(request, "login.html", context, status_code=401)
    db.commit()
    throttle.record_success(email)
    login(request, user)
    logger.info("user %s signed in", user.id)
    return RedirectResponse(_safe_next(next), status_code=303)


def _invited_email(db: Db, next_path: str) -> str | None:
    """The email an open invite in ``next_path`` (``/invite/{token}``) is for, if any: such a
    person may sign up even where sign-up is closed (``MINA_ALLOW_SIGNUP=false``)."""
    if not next_path.startswith("/invite/"):
        return None
    found = open_invite(db, token=next_path.removeprefix("/invite/"))
    return found.invite.email if found else None


def _may_sign_up(request: Request, invited: str | None, email: str | None) -> bool:
    if request.app.state.settings.allow_signup:
        return True
    return invited is not None and (email is None or store.normalise_email(email) == invited)


@router.get("/signup")
def signup_form(request: Request, db: Db, next: str | None = None) -> Response:
    next_path = _safe_next(next)
    if cookie_user(db, session_data(request)) is not None:
        return RedirectResponse(next_path, status_code=303)
    invited = _invited_email(db, next_path)
    if not _may_sign_up(request, invited, None):
        return render(request, "signup.html", {"closed": True}, status_code=403)
    context = {"name": "", "email": invited or "", "next": next_path, "invited": invited}
    return render(request, "signup.html", context)


@router.post("/signup")
def signup_submit(
    request: Request,
    db: Db,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    next_path = _safe_next(next)
    invited = _invited_email(db, next_path)
    if not _may_sign_up(request, invited, email):
        return render(request, "signup.html", {"closed": True}, status_code=403)
    try:
        user = store.create_user(db, email=email, password=password, name=name)
    except store.StoreError as exc:
        context = {
            "name": name,
            "email": email,
            "error": exc.message,
            "next": next_path,
            "invited": invited,
        }
        return render(request, "signup.html", context, status_code=400)
    db.commit()
    login(request, user)
    if invited is None:
        flash(request, "Welcome to Mina. Your workspace is ready.", "success")
    logger.info("user %s signed up", user.id)
    return RedirectResponse(next_path, status_code=303)


@router.post("/logout")
def logout_submit(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    logout(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/logout")
def logout_page(request: Request) -> Response:
    """A GET cannot sign anyone out (a link on another site could): show a confirm button."""
    return render(request, "logout.html")
