"""A one-activity workflow: the smallest proof that server, worker and database work together."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.contracts import SystemContract
    from schemas.system import SystemCheck


@workflow.defn
class SystemCheckWorkflow:
    @workflow.run
    async def run(self, requested_by: str) -> SystemCheck:
        return await workflow.execute_activity_method(
            SystemContract.check_database,
            requested_by,
            start_to_close_timeout=timedelta(seconds=30),
        )
