"""Action bodies: what a caller posts is a workflow's action model without its `actor`, whom the server
fills in from the log-in, so nobody can act in someone else's name, nor what else the server fills in
(a home visit's `investigator_staff`, from the users table)."""

from __future__ import annotations

from typing import TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError, create_model

from schemas.staff import Actor

M = TypeVar("M", bound=BaseModel)

SERVER_FILLED = frozenset({"actor", "investigator_staff"})


def body_model(model: type[BaseModel]) -> type[BaseModel]:
    """`model` minus its `actor` (and any other field the server fills in). Model-level validators are not
    copied: the full model is built (and so validated) from the body before the workflow is called."""
    fields = {name: (f.annotation, f) for name, f in model.model_fields.items() if name not in SERVER_FILLED}
    return create_model(f"{model.__name__}Body", __doc__=model.__doc__, **fields)


def with_actor(model: type[M], body: BaseModel, actor: Actor) -> M:
    """The full action: the body completed with the caller, validated as the API validates a body (422)."""
    try:
        return model.model_validate({**dict(body), "actor": actor})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
