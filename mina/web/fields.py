"""Field types shared by request bodies."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):  # pydantic reads true as 1: user, meeting or notification 1
        raise ValueError("must be an integer id, not true or false")
    return value


# an id in a JSON body: an integer (1 or 1.0, as JSON Schema's "integer" allows), never a boolean
Id = Annotated[int, BeforeValidator(_not_a_boolean)]
# the same, 1 or more (the constraint comes before the validator, or the schema loses it)
PositiveId = Annotated[int, Field(ge=1), BeforeValidator(_not_a_boolean)]
