"""What a route may ask for, as `Annotated` dependencies: the database, the Temporal client, the caller,
the settings. A route that needs one names it in its signature, so nothing is fetched behind its back:

    async def case(case_id: str, db: Db, actor: CurrentActor) -> CaseOut: ...

`Temporal` answers 503 at once when the app has no client. A route whose own refusals (401, 403, 404, 422)
must come first takes `MaybeTemporal` and calls `workflow_calls.connected` where it needs the client.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from infra.config import Settings
from schemas.staff import Actor
from webapp import authz
from webapp.render import page_actor
from webapp.sessions import current_actor
from webapp.workflow_calls import connected


def database(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def temporal_client(request: Request) -> Client:
    """The app's Temporal client; 503 when the app was started without one (or it is not connected yet)."""
    return connected(request.app.state.client)


def temporal_if_any(request: Request) -> Client | None:
    """The client, or None for the pages that show what the database knows when Temporal is not there."""
    return request.app.state.client


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


Db = Annotated[asyncpg.Pool, Depends(database)]
Temporal = Annotated[Client, Depends(temporal_client)]
MaybeTemporal = Annotated[Client | None, Depends(temporal_if_any)]
AppSettings = Annotated[Settings, Depends(app_settings)]
# An API caller (bearer token or session; 401 otherwise) and a page's user (sent to log in otherwise).
CurrentActor = Annotated[Actor, Depends(current_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]


def permitted(action: str) -> Any:
    """An API caller whom the authorisation table (webapp.authz) lets do `action`; 403 with its refusal otherwise:

    async def cases(actor: Annotated[Actor, permitted("case.read")]) -> ...
    """

    async def guard(actor: CurrentActor) -> Actor:
        authz.require(actor, action)
        return actor

    return Depends(guard)
