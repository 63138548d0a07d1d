"""Workflow code takes time, chance and the world only from Temporal (`workflow.now()`, activities): the
worker passes the workflows' helper modules through the sandbox (`workers.main.WORKFLOW_HELPERS`, imported
once rather than for every new run), so what the sandbox would refuse in them is refused here, from the source."""

from __future__ import annotations

import ast
from pathlib import Path

from workers.main import WORKFLOW_HELPERS

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
# Calls that read the clock, chance or the system: `module.function` or `Class.method` as written.
FORBIDDEN = {
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.perf_counter",
    "time.sleep",
    "uuid.uuid1",
    "uuid.uuid4",
    "os.getenv",
    "os.urandom",
}
FORBIDDEN_MODULES = {"random", "secrets", "socket", "subprocess", "threading"}
FORBIDDEN_NAMES = {"open", "input"}


def offences(source: str) -> list[str]:
    """`line: call` for each call in `source` that only Temporal may answer in workflow code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{node.lineno}: import {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in FORBIDDEN_NAMES:
            found.append(f"{node.lineno}: {f.id}()")
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            if f"{f.value.id}.{f.attr}" in FORBIDDEN:
                found.append(f"{node.lineno}: {f.value.id}.{f.attr}()")
    return found


def test_workflow_code_asks_temporal_for_time_and_chance() -> None:
    bad = [f"workflows/{p.name}:{o}" for p in sorted(WORKFLOWS.glob("*.py")) for o in offences(p.read_text())]
    assert bad == []


def test_the_check_finds_what_it_is_for() -> None:
    planted = "import random\nfrom datetime import datetime\nx = datetime.now()\ny = open('f')\n"
    assert offences(planted) == ["1: import random", "3: datetime.now()", "4: open()"]


def test_the_passed_through_modules_are_the_helpers() -> None:
    """Every module of workflows/ without a workflow class is passed through; a workflow's own module never is
    (the sandbox must import it afresh for each run)."""
    helpers = {
        f"workflows.{p.stem}"
        for p in WORKFLOWS.glob("*.py")
        if p.stem != "__init__" and "@workflow.defn" not in p.read_text()
    }
    assert set(WORKFLOW_HELPERS) == helpers
