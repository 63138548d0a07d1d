"""Which required materials a file still lacks: the policy's list for its kind of assistance, less the types of
the documents it holds that are not superseded, in the policy's order (pure: the case page, the API and the 补正
form's pre-fill read the same answer)."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.policy import DocumentPolicy, DocumentType


def missing(policy: DocumentPolicy, kind: str | None, present: Iterable[str]) -> list[DocumentType]:
    """The required types of `kind` ("dibao", "tekun", "emergency"; None or another kind requires nothing) with
    no current document among `present` (the type codes of the file's current documents)."""
    required = policy.required.get(kind, ()) if kind else ()  # type: ignore[call-overload]
    have = set(present)
    return [t for t in policy.types if t.code in required and t.code not in have]
