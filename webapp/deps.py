"""What a route may ask for, as `Annotated` dependencies: the database, the Temporal client, the caller,
the settings. A route that needs one names it in its signature, so nothing is fetched behind its back:

    async def case(case_id: str, db: Db, actor: CurrentActor) -> CaseOut: ...
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from infra.config import Settings
from schemas.staff import Actor
from webapp.auth import current_actor
from webapp.errors import ApiError
from webapp.ui.render import page_actor

TEMPORAL_UNAVAILABLE = "工作流服务暂不可用，请稍后再试"


def database(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def temporal_client(request: Request) -> Client:
    """The app's Temporal client; 503 when the app was started without one (or it is not connected yet)."""
    found = request.app.state.client
    if found is None:
        raise ApiError(503, "temporal_unavailable", TEMPORAL_UNAVAILABLE)
    return found


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


Db = Annotated[asyncpg.Pool, Depends(database)]
Temporal = Annotated[Client, Depends(temporal_client)]
AppSettings = Annotated[Settings, Depends(app_settings)]
# An API caller (bearer token or session; 401 otherwise) and a page's user (sent to log in otherwise).
CurrentActor = Annotated[Actor, Depends(current_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]
