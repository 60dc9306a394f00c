"""The JSON API. Every error is ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mina.db import ping
from mina.models import Role
from mina.web.deps import ApiPrincipal, Db
from mina.web.errors import error_responses

router = APIRouter()


class Health(BaseModel):
    status: str
    database: str


class WorkspaceOut(BaseModel):
    id: int
    name: str
    slug: str
    role: Role


class Me(BaseModel):
    id: int
    email: str
    name: str
    created_at: datetime
    workspace: WorkspaceOut


@router.get(
    "/healthz",
    response_model=Health,
    tags=["health"],
    responses={503: {"model": Health, "description": "The database does not answer"}},
)
def healthz(request: Request) -> JSONResponse:
    """Liveness and database reachability, for load balancers and uptime checks."""
    ok = ping(request.app.state.engine)
    body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unavailable"}
    return JSONResponse(body, status_code=200 if ok else 503)


class MeUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


def _me(principal: ApiPrincipal) -> Me:
    user, workspace = principal.user, principal.workspace
    return Me(
        id=user.id,
        email=user.email,
        name=user.name,
        created_at=user.created_at,
        workspace=WorkspaceOut(
            id=workspace.id, name=workspace.name, slug=workspace.slug, role=principal.role
        ),
    )


@router.get("/api/me", response_model=Me, tags=["account"], responses=error_responses(401))
def me(principal: ApiPrincipal) -> Me:
    """The caller and their workspace."""
    return _me(principal)


@router.patch(
    "/api/me", response_model=Me, tags=["account"], responses=error_responses(400, 401, 403, 422)
)
def update_me(body: MeUpdate, principal: ApiPrincipal, db: Db) -> Me:
    """Change the caller's display name."""
    user = db.merge(principal.user)
    user.name = body.name.strip()
    db.commit()
    return _me(principal)
