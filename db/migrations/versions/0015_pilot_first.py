"""Pilot units first (issue 14): the approval (审核确认) is delegated to the three pilot units 石婆店镇
(341503106), 顺河镇 (341503104) and 鼓楼街道 (341503001); every other township's cases are approved by the
district (区民政局) until the roll-out page delegates to it too. The built-in default policy said the
opposite (every township approves its own cases from 2021-01-01).

- A fresh database gets the new built-in default as its version 1 (`policy_repo.ensure_default`, which runs
  after the migrations): nothing to do here, its table is still empty.
- A database whose only version is version 1 exactly as the old default had it (read as cases read it) gets
  version 2, effective today (Beijing): the same parameters with the approval levels of the pilot-first
  plan. Cases accepted before keep version 1, so their townships still approve them.
- A database whose policy was changed in any way (another version, other numbers) is left as it is: its
  administrator decides, on the roll-out page or with a new version.

The downgrade leaves version 2 where it is: versions are immutable, and cases may already be under it.

Create Date: 2026-12-12
"""

import json
from datetime import date

import sqlalchemy as sa
from alembic import op

from infra.clock import today
from schemas.policy import ApprovalLevel, Policy, ReviewPolicy

revision = "0015"
down_revision = "0014"

# Written out here, not taken from schemas.policy: this migration must mean the same once the defaults move on.
PILOTS = ("341503106", "341503104", "341503001")
NOTE = "试点先行：审核确认权限先下放至石婆店镇、顺河镇、鼓楼街道"


def old_default() -> Policy:
    """The built-in default before issue 14: every township approves its own cases."""
    return Policy(review=ReviewPolicy(default_approval_level=ApprovalLevel.TOWNSHIP, approval_level_by_township={}))


def pilot_first(untouched: Policy, version: int, effective_from: date) -> Policy:
    """`untouched` with the pilot units' approval delegated and everyone else's kept at the district."""
    review = untouched.review.model_copy(
        update={
            "default_approval_level": ApprovalLevel.DISTRICT,
            "approval_level_by_township": dict.fromkeys(PILOTS, ApprovalLevel.TOWNSHIP),
        }
    )
    body = untouched.model_copy(
        update={"version": version, "effective_from": effective_from, "note": NOTE, "review": review}
    )
    return Policy.model_validate(body.model_dump())


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("select version, body from policy_versions")).all()
    if len(rows) != 1 or rows[0].version != 1:
        return
    body = rows[0].body if isinstance(rows[0].body, dict) else json.loads(rows[0].body)
    stored = body.get("review", {})
    if "default_approval_level" not in stored or "approval_level_by_township" not in stored:
        return  # not as the default stored it: left to the administrator
    untouched = Policy.model_validate(body)
    day = today()
    if untouched != old_default() or day <= untouched.effective_from:
        return
    policy = pilot_first(untouched, 2, day)
    conn.execute(
        sa.text(
            "insert into policy_versions (version, effective_from, body, note, created_by) "
            "values (:version, :effective_from, cast(:body as jsonb), :note, 'system')"
        ),
        {
            "version": policy.version,
            "effective_from": policy.effective_from,
            "body": json.dumps(policy.model_dump(mode="json"), ensure_ascii=False),
            "note": policy.note,
        },
    )


def downgrade() -> None:
    pass
