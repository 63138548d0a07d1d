"""The page of one front-door row (a bureau's referral, a 12349 request, a complaint) with its action forms.

Each form is validated as the action's body and handed to the function the HTTP API calls, so a page refuses
exactly as the API does. A refusal shows the page again with the Chinese message and what was typed;
success redirects (303, so that a reload does not post twice) to the page, which then says what was done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, get_origin

import asyncpg
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from temporalio.client import Client

from db import users_repo
from schemas.staff import Actor
from webapp import access_log
from webapp.access_log import Kind
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.errors import ApiError
from webapp.frontdoor.subjects import Run, Subject, perform
from webapp.payloads import body_model
from webapp.render import HIDDEN_FIELDS, Feedback, render, render_error

Form = tuple[type[BaseModel], Run, str]  # an action's body model, the function running it, its label once done
# The template's variables for one row, read by the same functions as the API: (database, client, number, user).
Load = Callable[[asyncpg.Pool, Client | None, str, Actor], Awaitable[dict[str, Any]]]


def form_fields(form: FormData, model: type[BaseModel]) -> dict[str, Any]:
    """A posted form, without its CSRF token, as the fields of the action's body `model`: a list for a list
    field (a group of checkboxes); a blank field whose default is None left out, so that it is None."""
    fields: dict[str, Any] = {k: str(v) for k, v in form.items() if k not in HIDDEN_FIELDS}
    for name, info in model.model_fields.items():
        if get_origin(info.annotation) is list:
            fields[name] = [str(v) for v in form.getlist(name)]
        elif name in fields and not fields[name].strip() and not info.is_required() and info.default is None:
            del fields[name]
    return fields


async def submit(
    attempt: Callable[[], Awaitable[str]], again: Callable[[ValidationError | ApiError], Awaitable[Response]]
) -> Response:
    """Redirect to where `attempt` (validate the form, call the API) says; if the model or the API refuses,
    `again` shows the form once more with the refusal (see `Feedback.refused`)."""
    try:
        target = await attempt()
    except (ValidationError, ApiError) as exc:
        return await again(exc)
    return RedirectResponse(target, status_code=303)


def action_forms(subject: Subject) -> dict[str, Form]:
    """The forms of a subject's actions (rules.frontdoor_actions), each run as its API route runs it and
    labelled as in the API docs."""
    return {
        action: (body_model(subject.payloads[action]), partial(perform, subject, action), spec.label)
        for action, spec in subject.actions.items()
    }


@dataclass(frozen=True)
class RowPage:
    """A row's page, `GET {path}/{<key>}`, and its forms, each posted to `POST {path}/{<key>}/{action}`."""

    path: str
    key: str  # the name of the path parameter holding the row's number
    template: str
    load: Load
    forms: Mapping[str, Form]
    done: Mapping[str, str] = field(default_factory=dict)  # labels of other steps that lead here with ?done=

    @property
    def logged_as(self) -> Kind:
        """What a view of the page is in the access log."""
        return {"/bureau/referrals": Kind.REFERRAL, "/frontdoor/complaints": Kind.COMPLAINT}.get(
            self.path, Kind.REQUEST
        )

    def install(self, router: APIRouter) -> None:
        """Add the page's two routes to `router`."""

        async def page(
            request: Request, actor: PageActor, db: Db, temporal: MaybeTemporal, done: str | None = None
        ) -> Response:
            row_id = request.path_params[self.key]
            shown = await self.show(request, (db, temporal), row_id, actor, Feedback(done=self.done_label(done)))
            if shown.status_code == 200:
                await access_log.record(request, actor, self.logged_as, row_id)
            return shown

        async def act(request: Request, action: str, actor: PageActor, db: Db, temporal: MaybeTemporal) -> Response:
            return await self.post(request, (db, temporal), request.path_params[self.key], actor, action)

        router.add_api_route(f"{self.path}/{{{self.key}}}", page, methods=["GET"])
        router.add_api_route(f"{self.path}/{{{self.key}}}/{{action}}", act, methods=["POST"])

    def done_label(self, action: str | None) -> str | None:
        if action in self.forms:
            return self.forms[action][2]
        return self.done.get(action or "")

    async def show(
        self,
        request: Request,
        deps: tuple[asyncpg.Pool, Client | None],
        row_id: str,
        actor: Actor,
        feedback: Feedback = Feedback(),
    ) -> Response:
        try:
            variables = await self.load(*deps, row_id, actor)
        except ApiError as exc:
            return render_error(request, exc.status, exc.message, actor)
        variables |= feedback.context() | {"names": await _names(deps[0], variables)}
        return render(request, self.template, variables, status=feedback.status, actor=actor)

    async def post(
        self, request: Request, deps: tuple[asyncpg.Pool, Client | None], row_id: str, actor: Actor, action: str
    ) -> Response:
        if action not in self.forms:
            return render_error(request, 404, "页面不存在", actor)
        model, run, _ = self.forms[action]
        fields = form_fields(await request.form(), model)

        async def attempt() -> str:
            await run(*deps, row_id, actor, model.model_validate(fields))
            return f"{self.path}/{row_id}?done={action}"

        async def again(exc: ValidationError | ApiError) -> Response:
            feedback = Feedback.refused(exc, {action: fields})
            shown = await self.show(request, deps, row_id, actor, feedback)
            if shown.status_code == feedback.status:  # the whole row shown again, with the form's errors: a read
                await access_log.record(request, actor, self.logged_as, row_id)
            return shown

        return await submit(attempt, again)


async def _names(db: asyncpg.Pool, variables: dict[str, Any]) -> dict[str, str]:
    """The full names of the staff a row's page names by login: its log's actors, who received and verified it."""
    detail = variables.get("detail")
    logins = {e.actor for e in getattr(detail, "log", None) or [] if e.actor}
    logins |= {getattr(detail, f, None) for f in ("received_by", "identity_verified_by")} - {None}
    return await users_repo.full_names(db, logins) if logins else {}
