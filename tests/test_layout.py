"""The project's layout, read from its source (no server): SQL only in `db/`, settings only through
`infra.config`, modules of a readable size, and the packages importing one another in one direction only.

Each failure names the file and line to look at."""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ("db", "webapp", "cli", "infra", "activities", "workers", "workflows", "rules", "schemas")
MAX_LINES = 500
# The README's trial of adding a review action (issue 13: at most 6 production files besides the catalogs).
TRIAL = ROOT / "docs" / "trials" / "township_preapproval.diff"

# asyncpg's query methods: called outside db/, they run SQL outside db/. (Temporal's `execute_update`,
# `execute_activity` and `execute_workflow` are other names.)
QUERY_METHODS = {
    "fetch",
    "fetchrow",
    "fetchval",
    "execute",
    "executemany",
    "copy_records_to_table",
    "copy_to_table",
    "copy_from_table",
    "copy_from_query",
}
SQL = re.compile(
    r"\bselect\b.+?\bfrom\s+[a-z_({]|\binsert\s+into\b|\bupdate\s+[a-z_]+\s+set\b|\bdelete\s+from\b",
    re.IGNORECASE | re.DOTALL,
)
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
# Settings are read from the environment by infra.config alone; these modules touch it for the reason given.
ENVIRONMENT_ALLOWED = {
    "infra/config.py": "Settings: the one reader of the environment",
    "infra/logging.py": "writes JIUZHU_LOG_JSON, so that the processes it starts log the same way",
    "cli/system_cmd.py": "builds the environment of the child processes it starts (os.environ and settings)",
}
# Our packages that a package must not import.
FORBIDDEN_IMPORTS = {
    "schemas": set(PRODUCTION) - {"schemas"},
    "rules": set(PRODUCTION) - {"rules"},
    "workflows": {"activities", "db", "infra", "webapp"},
    "activities": {"webapp", "infra", "workers"},
}


@dataclass(frozen=True)
class Module:
    path: str  # from the project's root
    tree: ast.Module
    lines: int

    @classmethod
    def of(cls, path: str, text: str) -> Module:
        return cls(path, ast.parse(text, filename=path), len(text.splitlines()))


@cache
def production() -> tuple[Module, ...]:
    return tuple(
        Module.of(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
        for package in PRODUCTION
        for path in sorted((ROOT / package).rglob("*.py"))
    )


def _docstrings(tree: ast.Module) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
    return {
        id(n.body[0].value)
        for n in nodes
        if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }


def _strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Each string literal but docstrings, with its line; an f-string with `{}` where its values go."""
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def sql_outside_db(modules: tuple[Module, ...]) -> list[str]:
    found = set()
    for m in modules:
        if m.path.startswith("db/"):
            continue
        for node in ast.walk(m.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_METHODS:
                found.add(f"{m.path}:{node.lineno}: .{node.func.attr}(…) runs SQL; call a db/ repository instead")
        for line, text in _strings(m.tree):
            if match := SQL.search(text):
                words = " ".join(text[match.start() :].split())[:50]
                found.add(f"{m.path}:{line}: SQL in a string ({words!r}…); it belongs in a db/ repository")
    return sorted(found)


def environment_readers(modules: tuple[Module, ...]) -> list[str]:
    found = []
    for m in modules:
        if m.path in ENVIRONMENT_ALLOWED:
            continue
        for node in ast.walk(m.tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
                if node.attr in ENVIRONMENT:
                    found.append(f"{m.path}:{node.lineno}: os.{node.attr}; read settings through infra.config")
            elif isinstance(node, ast.ImportFrom) and node.module == "os":
                if names := sorted(a.name for a in node.names if a.name in ENVIRONMENT):
                    found.append(f"{m.path}:{node.lineno}: from os import {', '.join(names)}; use infra.config")
    return found


def long_modules(modules: tuple[Module, ...]) -> list[str]:
    return [
        f"{m.path}:{m.lines}: {m.lines} lines, more than {MAX_LINES}; split it by concern"
        for m in modules
        if m.lines > MAX_LINES
    ]


def _imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Each absolute import's top-level package, with its line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def wrong_imports(modules: tuple[Module, ...]) -> list[str]:
    found = []
    for m in modules:
        package = m.path.split("/")[0]
        for line, imported in _imports(m.tree):
            if imported in FORBIDDEN_IMPORTS.get(package, ()):
                found.append(f"{m.path}:{line}: {package}/ imports {imported}, against the layout")
    return found


def test_sql_lives_only_in_db() -> None:
    found = sql_outside_db(production())
    assert not found, "SQL outside db/:\n" + "\n".join(found)


def test_only_infra_config_reads_the_environment() -> None:
    found = environment_readers(production())
    assert not found, "the environment read outside infra/config.py:\n" + "\n".join(found)
    gone = [path for path in ENVIRONMENT_ALLOWED if not (ROOT / path).is_file()]
    assert not gone, f"allowed to touch the environment, but no longer there: {gone}"


def test_no_production_module_is_over_500_lines() -> None:
    found = long_modules(production())
    assert not found, "modules too long:\n" + "\n".join(found)


def test_the_trial_of_adding_a_review_action_still_applies_in_six_production_files() -> None:
    """The trial applies to today's tree, touches at most 6 production files besides the catalogs, and leaves each
    module within the limit: a module at the limit would have to be split before the action could be added."""
    git = ["git", "apply", "--numstat", "--check", str(TRIAL)]
    numstat = subprocess.run(git, cwd=ROOT, capture_output=True, text=True, check=False)
    assert numstat.returncode == 0, f"the trial no longer applies: {numstat.stderr}"
    grows = {}
    for line in numstat.stdout.splitlines():
        added, removed, path = line.split("\t")
        grows[path] = int(added) - int(removed)
    touched = sorted(p for p in grows if p.split("/")[0] in PRODUCTION and not p.endswith(".po"))
    assert len(touched) <= 6, touched
    sizes = {m.path: m.lines for m in production()}
    over = [f"{p}: {sizes[p] + grows[p]} lines" for p in touched if sizes.get(p, 0) + grows[p] > MAX_LINES]
    assert not over, f"the trial would take these over {MAX_LINES} lines: {over}"


def test_packages_import_in_one_direction() -> None:
    found = wrong_imports(production())
    assert not found, "imports against the layout:\n" + "\n".join(found)


def test_each_check_finds_what_it_is_for() -> None:
    """A check that finds nothing in the tree must not merely be blind: each finds a planted violation."""
    planted = Module.of(
        "workflows/planted.py",
        'import os\n\nfrom webapp import deps\n\nCASES = f"select x from {deps}"\n\n\n'
        'async def clear(conn, handle):\n    """Select the rows from the table, then delete from it."""\n'
        '    await handle.execute_update("x")\n    await conn.execute("delete from cases")\n'
        '    return os.getenv("X")\n' + "\n" * MAX_LINES,
    )
    assert sql_outside_db((planted,)) == [
        "workflows/planted.py:11: .execute(…) runs SQL; call a db/ repository instead",
        "workflows/planted.py:11: SQL in a string ('delete from cases'…); it belongs in a db/ repository",
        "workflows/planted.py:5: SQL in a string ('select x from {}'…); it belongs in a db/ repository",
    ]
    assert environment_readers((planted,)) == ["workflows/planted.py:12: os.getenv; read settings through infra.config"]
    assert long_modules((planted,)) == [
        f"workflows/planted.py:{planted.lines}: {planted.lines} lines, more than 500; split it by concern"
    ]
    assert wrong_imports((planted,)) == ["workflows/planted.py:3: workflows/ imports webapp, against the layout"]
