"""The FastAPI application: HTTP API now, the admin UI later, on one app."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="Jiuzhu 救助", version="0.1.0")


@app.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
