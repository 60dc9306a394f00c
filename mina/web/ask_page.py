"""``/ask``: a question about every meeting of the workspace, answered from what was said, with
the passages it comes from and the others that match, each opening its meeting at the moment.
Rendered on the server (it works without JavaScript)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mina.semantic.ask import ask
from mina.web.deps import Db, PagePrincipal
from mina.web.rendering import render

router = APIRouter(include_in_schema=False)
RELATED = 8


@router.get("/ask")
def ask_page(
    request: Request,
    db: Db,
    principal: PagePrincipal,
    q: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    settings = request.app.state.settings
    question = q.strip()
    context: dict[str, object] = {"q": question, "enabled": settings.semantic_search}
    if question and settings.semantic_search:
        answer = ask(
            db,
            request.app.state.vector_index,
            settings,
            workspace_id=principal.workspace.id,
            question=question,
        )
        cited = {c.segment_id for c in answer.citations}
        context["answer"] = answer
        context["related"] = [h for h in answer.passages[:RELATED] if h.segment_id not in cited]
    return render(request, "ask.html", context, principal=principal)
