"""Which required materials a file still lacks: the required types of its kind of assistance (the policy's
`documents.required`), less the types of the documents it holds that are not superseded, in the order of the
policy's list of types (pure: the case page, the API and the 补正 form's pre-fill read the same answer)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar


class Typed(Protocol):
    @property
    def code(self) -> str: ...


T = TypeVar("T", bound=Typed)


def missing(
    types: Sequence[T], required: Mapping[str, Sequence[str]], kind: str | None, present: Iterable[str]
) -> list[T]:
    """The types `required` for `kind` ("dibao", "tekun", "emergency"; None or another kind requires nothing)
    with no current document among `present` (the type codes of the file's current documents)."""
    needed = set(required.get(kind, ())) if kind else set()
    have = set(present)
    return [t for t in types if t.code in needed and t.code not in have]
