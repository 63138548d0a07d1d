"""The real web app as a separate process (`uvicorn webapp.app:app`), for tests that need a socket: a
browser, or schemathesis over HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from infra.config import ROOT
from tests.support.ports import free_port


@asynccontextmanager
async def serving_web(environ: dict[str, str], log_path: Path, *uvicorn_args: str) -> AsyncIterator[str]:
    """Its base URL once it answers /healthz (its output in `log_path`); stopped on leaving."""
    port = free_port()
    with log_path.open("w") as log:
        web = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "webapp.app:app",
            "--port",
            str(port),
            *uvicorn_args,
            env=environ,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(150):
                try:
                    if (await http.get(url + "/healthz", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if web.returncode is not None:
                    raise RuntimeError("web app exited:\n" + await asyncio.to_thread(log_path.read_text))
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("web app did not start:\n" + await asyncio.to_thread(log_path.read_text))
        yield url
    finally:
        if web.returncode is None:
            web.terminate()
        await web.wait()
