"""Replay every recorded history against today's workflow code: a change that would break a running case
(a new activity, timer or order of commands without `workflow.patched`) fails here, before deployment."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from google.protobuf import json_format
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from workflows.complaint import ComplaintWorkflow
from workflows.daily import DailySupervisionWorkflow
from workflows.discovery import DiscoveryWorkflow
from workflows.emergency import EmergencyWorkflow
from workflows.intake import IntakeWorkflow
from workflows.ongoing import OngoingReviewWorkflow
from workflows.payroll import PayrollMonthWorkflow, PayrollWorkflow
from workflows.referral import ReferralWorkflow
from workflows.review import ReviewWorkflow
from workflows.sampling import RecheckWorkflow

# The sandbox re-imports this module (it defines a workflow): the codec's native crypto library must pass through.
with workflow.unsafe.imports_passed_through():  # and the schemas, as the workflows' own modules import them
    from infra.codec import key_ring
    from infra.config import Settings
    from infra.temporal import data_converter
    from schemas.review import ReviewNames, ReviewStart

# The workflows with recorded histories (this module is a workflow's own: it imports workflow code only).
RECORDED = [
    ReviewWorkflow,
    EmergencyWorkflow,
    IntakeWorkflow,
    ReferralWorkflow,
    ComplaintWorkflow,
    OngoingReviewWorkflow,
    PayrollWorkflow,
    PayrollMonthWorkflow,
    DiscoveryWorkflow,
    DailySupervisionWorkflow,
    RecheckWorkflow,
]

RING = key_ring(Settings())  # what histories recorded by tests/histories/record.py are sealed with
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
        "district",
        "objection_12349",
        "emergency",
        "ongoing",
        "referral",
        "complaint",
        "withdrawn",
        "terminated",
        "payroll",
        "discovery",
        "daily",
        "referral_calendar",
        "complaint_calendar",
        "discovery_calendar",
        "refused_calendar",
        "recheck",
        "request_calendar",
    }


def patch_ids_in_code() -> set[str]:
    """Every id passed to `workflow.patched` (or the review's `since`) in workflows/, as a literal or through a
    module constant."""
    root = Path(__file__).resolve().parents[1] / "workflows"
    source = "\n".join(p.read_text() for p in root.glob("*.py"))
    constants = dict(re.findall(r'^([A-Z][A-Z0-9_]*) = "([a-z0-9-]+)"$', source, re.M))
    ids = set()
    for arg in re.findall(r"(?:workflow\.patched|since)\(([A-Z][A-Z0-9_]*|\"[a-z0-9-]+\")\)", source):
        ids.add(arg.strip('"') if arg.startswith('"') else constants[arg])
    return ids


def patch_ids_in_histories() -> set[str]:
    ids = set()
    for path in HISTORIES:
        for event in json.loads(path.read_text())["events"]:
            marker = event.get("markerRecordedEventAttributes")
            if marker and marker["markerName"] == "core_patch":
                for payload in marker["details"]["patch-data"]["payloads"]:
                    clear = RING.decrypt(json_format.ParseDict(payload, Payload()))  # as it is when not encrypted
                    ids.add(json.loads(clear.data)["id"])
    return ids


def test_every_patched_path_is_replayed() -> None:
    """A `workflow.patched` branch that no recorded history takes is never replayed: record one
    (`python -m tests.histories.record vN SCENARIO`) that goes through it."""
    in_code = patch_ids_in_code()
    assert len(in_code) >= 10
    assert in_code - patch_ids_in_histories() == set()


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_current_code_replays_recorded_history(path: Path) -> None:
    replayer = Replayer(workflows=RECORDED, data_converter=data_converter())
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
    replayer = Replayer(workflows=[UnpatchedChange], data_converter=data_converter())
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(REVIEW_HISTORIES[0]))
