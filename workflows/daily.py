"""The district's morning (a daily schedule): start an ongoing-review cycle for every new recipient (and
imported one whose scheduled review comes near), marking them started once their workflows are (patch
`daily-mark-reviews-after-start`: the selection changes nothing, so a retry after a lost answer selects them
again), then send each township and the district its digest of what is overdue or about to be; since patch
`daily-discovery-purge`, also delete the partner bureaus' discovery lists kept past the policy's retention and
start the discovery tasks whose workflow the web app could not start."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.common import ACTIVITY, today

with workflow.unsafe.imports_passed_through():
    from schemas.contracts import DiscoveryContract, SupervisionContract
    from schemas.discovery import DiscoveryNames, discovery_workflow_id
    from schemas.supervision import OngoingStart, SupervisionNames, ongoing_workflow_id


DISCOVERY_PURGE = "daily-discovery-purge"
MARK_AFTER_START = "daily-mark-reviews-after-start"


@workflow.defn(name=SupervisionNames.DAILY)
class DailySupervisionWorkflow:
    @workflow.run
    async def run(self) -> dict:
        on = today()
        # Since this patch the reviews are marked started only once their workflows are: a lost answer of the
        # selection no longer loses them (it selects them again).
        mark_after = workflow.patched(MARK_AFTER_START)
        select = SupervisionContract.reviews_to_start if mark_after else SupervisionContract.recipients_to_review
        new = await workflow.execute_activity_method(select, on, **ACTIVITY)
        reviews = [
            (
                OngoingStart(
                    case_id=r.case_id,
                    township_code=r.township_code,
                    applicant_name=r.applicant_name,
                    cadence_months=r.cadence_months,
                    due_on=r.due_on,
                    monthly_amount=r.monthly_amount,
                ),
                ongoing_workflow_id(r.case_id),
            )
            for r in new
        ]
        started = await start_children(SupervisionNames.ONGOING, reviews)
        if mark_after and new:
            await workflow.execute_activity_method(SupervisionContract.mark_reviews_started, new, **ACTIVITY)
        digests = await workflow.execute_activity_method(SupervisionContract.build_digests, on, **ACTIVITY)
        done = {"day": str(on), "reviews_started": started, "digests": digests}
        if workflow.patched(DISCOVERY_PURGE):
            purged = await workflow.execute_activity_method(DiscoveryContract.purge_discovery_lists, on, **ACTIVITY)
            done["discovery_lists_purged"] = purged
            done["discovery_tasks_started"] = await self.start_discovery_tasks(on)
        return done

    async def start_discovery_tasks(self, on: date) -> int:
        """The workflows of discovery tasks the web app could not start (Temporal was down at the upload)."""
        starts = await workflow.execute_activity_method(DiscoveryContract.discovery_tasks_unstarted, on, **ACTIVITY)
        return await start_children(DiscoveryNames.WORKFLOW, [(s, discovery_workflow_id(s.task_id)) for s in starts])


async def start_children(name: str, starts: list[tuple[BaseModel, str]]) -> int:
    """Start each (input, workflow id) as a child that outlives this run; one already running is left alone."""
    started = 0
    for arg, workflow_id in starts:
        try:
            await workflow.start_child_workflow(
                name, arg, id=workflow_id, parent_close_policy=ParentClosePolicy.ABANDON
            )
            started += 1
        except WorkflowAlreadyStartedError:
            pass
    return started
