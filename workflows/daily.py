"""The district's morning (a daily schedule): start an ongoing-review cycle for every new recipient,
then send each township and the district its digest of what is overdue or about to be."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from rules.clock import beijing_date
    from schemas.supervision import OngoingStart, RecipientToReview, SupervisionNames, ongoing_workflow_id
    from workflows.logbook import ACTIVITY


@workflow.defn(name=SupervisionNames.DAILY)
class DailySupervisionWorkflow:
    @workflow.run
    async def run(self) -> dict:
        today = beijing_date(workflow.now())
        new = await workflow.execute_activity(
            "recipients_to_review", today, result_type=list[RecipientToReview], **ACTIVITY
        )
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
        digests = await workflow.execute_activity("build_digests", today, result_type=int, **ACTIVITY)
        return {"day": str(today), "reviews_started": started, "digests": digests}
