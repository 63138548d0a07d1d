"""The district's morning (a daily schedule): start an ongoing-review cycle for every new recipient,
then send each township and the district its digest of what is overdue or about to be; since patch
`daily-discovery-purge`, also delete the partner bureaus' discovery lists kept past the policy's retention."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.common import ACTIVITY, today

with workflow.unsafe.imports_passed_through():
    from schemas.contracts import DiscoveryContract, SupervisionContract
    from schemas.supervision import OngoingStart, SupervisionNames, ongoing_workflow_id


DISCOVERY_PURGE = "daily-discovery-purge"


@workflow.defn(name=SupervisionNames.DAILY)
class DailySupervisionWorkflow:
    @workflow.run
    async def run(self) -> dict:
        on = today()
        new = await workflow.execute_activity_method(SupervisionContract.recipients_to_review, on, **ACTIVITY)
        started = 0
        for r in new:
            try:
                await workflow.start_child_workflow(
                    SupervisionNames.ONGOING,
                    OngoingStart(
                        case_id=r.case_id,
                        township_code=r.township_code,
                        applicant_name=r.applicant_name,
                        cadence_months=r.cadence_months,
                        due_on=r.due_on,
                        monthly_amount=r.monthly_amount,
                    ),
                    id=ongoing_workflow_id(r.case_id),
                    parent_close_policy=ParentClosePolicy.ABANDON,
                )
                started += 1
            except WorkflowAlreadyStartedError:
                pass
        digests = await workflow.execute_activity_method(SupervisionContract.build_digests, on, **ACTIVITY)
        done = {"day": str(on), "reviews_started": started, "digests": digests}
        if workflow.patched(DISCOVERY_PURGE):
            purged = await workflow.execute_activity_method(DiscoveryContract.purge_discovery_lists, on, **ACTIVITY)
            done["discovery_lists_purged"] = purged
        return done
