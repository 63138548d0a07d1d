"""The monthly fund declaration (资金申报), drafted from the register and the emergency payments; a
district officer confirms it, after which it never changes (a correction is a new version)."""

from __future__ import annotations

from temporalio import workflow

from workflows.common import ACTIVITY, today

with workflow.unsafe.imports_passed_through():
    from schemas.contracts import SupervisionContract
    from schemas.supervision import DeclarationResult, SupervisionNames


@workflow.defn(name=SupervisionNames.DECLARATION)
class MonthlyDeclarationWorkflow:
    @workflow.run
    async def run(self, month: str | None = None) -> DeclarationResult:
        month = month or f"{today():%Y-%m}"
        return await workflow.execute_activity_method(
            SupervisionContract.declare_funds, args=[month, "schedule"], **ACTIVITY
        )
