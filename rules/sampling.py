"""The district's random re-check sample: stratified by township, reproducible from a recorded seed,
always including the cases that carry a risk (relatives match, complaint, amount overridden)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    case_id: str
    township_code: str
    always_reason: str | None = None  # why it must be re-checked regardless of the draw


@dataclass(frozen=True)
class Drawn:
    case_id: str
    township_code: str
    reason: str


def draw(candidates: list[Candidate], share: float, seed: str) -> list[Drawn]:
    """`share` of each township's decisions (at least one where there are any), plus every risky case.

    The same candidates, share and seed always give the same sample: the seed is recorded with it.
    """
    rng = random.Random(seed)
    picked: dict[str, Drawn] = {
        c.case_id: Drawn(c.case_id, c.township_code, c.always_reason) for c in candidates if c.always_reason
    }
    by_township: dict[str, list[str]] = {}
    for c in sorted(candidates, key=lambda c: c.case_id):
        by_township.setdefault(c.township_code, []).append(c.case_id)
    for township in sorted(by_township):
        ids = by_township[township]
        n = max(1, math.ceil(len(ids) * share))
        for case_id in rng.sample(ids, min(n, len(ids))):
            picked.setdefault(case_id, Drawn(case_id, township, "random"))
    return sorted(picked.values(), key=lambda d: (d.township_code, d.case_id))
