"""The monthly fund declaration (资金申报), drafted from the register and the emergency payments; a
district officer confirms it, after which it never changes (a correction is a new version)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from rules.clock import beijing_date
    from schemas.supervision import DeclarationResult, SupervisionNames
    from workflows.logbook import ACTIVITY


@workflow.defn(name=SupervisionNames.DECLARATION)
class MonthlyDeclarationWorkflow:
    @workflow.run
    async def run(self, month: str | None = None) -> DeclarationResult:
        month = month or f"{beijing_date(workflow.now()):%Y-%m}"
        return await workflow.execute_activity(
            "declare_funds", args=[month, "schedule"], result_type=DeclarationResult, **ACTIVITY
        )
