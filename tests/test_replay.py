"""Replay every recorded history against today's workflow code: a change that would break a running case
(a new activity, timer or order of commands without `workflow.patched`) fails here, before deployment."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from schemas.review import ReviewNames, ReviewStart
from workflows.complaint import ComplaintWorkflow
from workflows.emergency import EmergencyWorkflow
from workflows.intake import IntakeWorkflow
from workflows.referral import ReferralWorkflow
from workflows.review import ReviewWorkflow

# The workflows with recorded histories (this module is a workflow's own: it imports workflow code only).
RECORDED = [ReviewWorkflow, EmergencyWorkflow, IntakeWorkflow, ReferralWorkflow, ComplaintWorkflow]

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
REVIEW_HISTORIES = [p for p in HISTORIES if p.stem.startswith("review-")]


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_recorded() -> None:
    assert {p.stem.split("-", 2)[2] for p in HISTORIES} >= {
        "enrolled",
        "refused",
        "objection_overdue",
        "relatives",
        "emergency",
        "referral",
        "complaint",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_current_code_replays_recorded_history(path: Path) -> None:
    replayer = Replayer(workflows=RECORDED, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(load(path))


@workflow.defn(name=ReviewNames.WORKFLOW)
class UnpatchedChange(ReviewWorkflow):
    """What a careless edit looks like: one more timer before the deadline is computed, no `patched`."""

    @workflow.run
    async def run(self, start: ReviewStart):
        return await super().run(start)

    async def start_investigation(self) -> None:
        await workflow.sleep(1)
        await super().start_investigation()


async def test_an_unpatched_change_is_caught() -> None:
    replayer = Replayer(workflows=[UnpatchedChange], data_converter=pydantic_data_converter)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(REVIEW_HISTORIES[0]))
