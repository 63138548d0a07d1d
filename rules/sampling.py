"""The district's random re-check sample: stratified by township, reproducible from a recorded seed,
always including the cases that carry a risk (relatives match, complaint, amount overridden); and who
re-checks each sampled case: a district officer who never approved, took over or investigated it and is not
related to the household (approval and supervision are separate), the least loaded first."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Candidate:
    case_id: str
    township_code: str
    always_reason: str | None = None  # why it must be re-checked regardless of the draw
    excluded: tuple[str, ...] = ()  # who may not re-check it (`involved`)


@dataclass(frozen=True)
class Drawn:
    case_id: str
    township_code: str
    reason: str
    assigned_to: str | None = None
    excluded: tuple[str, ...] = field(default=())


# The case events whose people may not re-check the case: the approval (and a referral of it to the district),
# the district's take-over, the investigation (economic check, home visits, neighbour interview), and the
# relatives check's match (staff related to the household).
APPROVED = ("decision", "referred_to_district")
TOOK_OVER = ("take_over",)
INVESTIGATED = ("verification_result", "home_visit", "neighbour_interview")
RELATED = "relatives_matched"
CONFLICT_KINDS = (*APPROVED, *TOOK_OVER, *INVESTIGATED, RELATED)


def involved(kind: str, actor: str | None, payload: Mapping[str, Any]) -> set[str]:
    """The user names one event of a case makes ineligible to re-check it: who acted (approved, took over,
    investigated), a home visit's investigators and assistants, the staff a relatives match barred."""
    if kind == RELATED:
        return {b["username"] for b in payload.get("barred", []) if b.get("username")}
    if kind not in CONFLICT_KINDS:
        return set()
    people = {actor} if actor else set()
    if kind == "home_visit":
        people |= {str(u) for u in (*payload.get("investigators", []), *payload.get("assistants", []))}
    return people


def draw(candidates: list[Candidate], share: float, seed: str) -> list[Drawn]:
    """`share` of each township's decisions (at least one where there are any), plus every risky case.

    The same candidates, share and seed always give the same sample: the seed is recorded with it.
    """
    rng = random.Random(seed)
    excluded = {c.case_id: tuple(sorted(c.excluded)) for c in candidates}
    picked: dict[str, Drawn] = {
        c.case_id: Drawn(c.case_id, c.township_code, c.always_reason, excluded=excluded[c.case_id])
        for c in candidates
        if c.always_reason
    }
    by_township: dict[str, list[str]] = {}
    for c in sorted(candidates, key=lambda c: c.case_id):
        by_township.setdefault(c.township_code, []).append(c.case_id)
    for township in sorted(by_township):
        ids = by_township[township]
        n = max(1, math.ceil(len(ids) * share))
        for case_id in rng.sample(ids, min(n, len(ids))):
            picked.setdefault(case_id, Drawn(case_id, township, "random", excluded=excluded[case_id]))
    return sorted(picked.values(), key=lambda d: (d.township_code, d.case_id))


def assign(drawn: list[Drawn], officers: Iterable[str], seed: str) -> list[Drawn]:
    """Each drawn case with the officer who re-checks it: one of `officers` not among its `excluded`, the one
    with the fewest cases assigned so far (ties broken by the seeded draw, so the same input gives the same
    assignment); None if every officer is excluded."""
    pool = sorted(set(officers))
    load = dict.fromkeys(pool, 0)
    out = []
    for d in drawn:
        eligible = [o for o in pool if o not in d.excluded]
        if not eligible:
            out.append(Drawn(d.case_id, d.township_code, d.reason, None, d.excluded))
            continue
        random.Random(f"{seed}-{d.case_id}").shuffle(eligible)
        chosen = min(eligible, key=lambda o: load[o])  # the first of the least loaded, in the shuffled order
        load[chosen] += 1
        out.append(Drawn(d.case_id, d.township_code, d.reason, chosen, d.excluded))
    return out
