"""Monthly sampling of township decisions and the district's re-check of each sampled case.

The draw itself is pure (rules.sampling) and runs here, seeded by the month, so it is reproducible
and recorded in the history; the first draw of a month is the one kept in the database.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import ACTIVITY, refuse, today

with workflow.unsafe.imports_passed_through():
    from rules.sampling import Candidate, assign, draw
    from schemas.contracts import SupervisionContract
    from schemas.staff import Role
    from schemas.supervision import (
        RecheckFinding,
        RecheckState,
        SampledCase,
        SampleDrawn,
        SupervisionNames,
    )


# Since this patch one finding is recorded at a time: a second one sent while the first is being written is
# refused (`wrong_stage`), where before both were written and the records disagreed.
ONE_FINDING = "recheck-one-finding"
RECORDING = "另一位工作人员正在录入本案的复核结论，请稍后刷新查看"
RECORDED = "该案件的复核结论已录入"


def previous_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}"


@workflow.defn(name=SupervisionNames.SAMPLING)
class MonthlySamplingWorkflow:
    @workflow.run
    async def run(self, month: str | None = None) -> SampleDrawn:
        month = month or previous_month(today())
        found = await workflow.execute_activity_method(SupervisionContract.sampling_candidates, month, **ACTIVITY)
        candidates = [Candidate(**(c | {"excluded": tuple(c.get("excluded", ()))})) for c in found["candidates"]]
        seed = f"jiuzhu-sampling-{month}"
        # Who re-checks each case: an officer who never approved, took over or investigated it (draws recorded
        # before the officers were part of the answer assign no one).
        picked = assign(draw(candidates, float(found["share"]), seed), found.get("officers", []), seed)
        drawn = SampleDrawn(
            month=month,
            seed=seed,
            share=Decimal(found["share"]),
            population=len(candidates),
            cases=[
                SampledCase(
                    recheck_id=f"{month}-{d.case_id}",
                    month=month,
                    case_id=d.case_id,
                    township_code=d.township_code,
                    reason=d.reason,
                    assigned_to=d.assigned_to,
                    excluded=list(d.excluded),
                )
                for d in picked
            ],
        )
        stored = await workflow.execute_activity_method(SupervisionContract.record_sample, drawn, **ACTIVITY)
        await workflow.execute_activity_method(SupervisionContract.start_rechecks, stored, **ACTIVITY)
        return stored


@workflow.defn(name=SupervisionNames.RECHECK)
class RecheckWorkflow:
    """A district officer reviews the file (and may visit), then records "upheld" or "irregular"."""

    @workflow.init
    def __init__(self, case: SampledCase) -> None:
        self.case = case
        self.finding: RecheckFinding | None = None
        self.recording = False  # a finding is being written (its activity runs)

    @workflow.run
    async def run(self, case: SampledCase) -> RecheckState:
        await workflow.wait_condition(lambda: self.finding is not None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.update(name=SupervisionNames.RECORD_FINDING)
    async def record_finding(self, f: RecheckFinding) -> RecheckState:
        if workflow.patched(ONE_FINDING):
            if self.recording:  # another finding validated in the same workflow task came first
                raise refuse("wrong_stage", RECORDING)
            if self.finding is not None:
                raise refuse("closed", RECORDED)
            self.recording = True
        try:
            await workflow.execute_activity_method(
                SupervisionContract.record_recheck, args=[self.case.recheck_id, f], **ACTIVITY
            )
        except ActivityError as exc:
            # the database already holds another finding (one sent at the same time before this patch)
            if isinstance(exc.cause, ApplicationError) and exc.cause.type == "closed":
                raise refuse("closed", RECORDED) from None
            raise
        finally:
            self.recording = False
        self.finding = f
        return self.state()

    @record_finding.validator
    def _v_finding(self, f: RecheckFinding) -> None:
        if f.actor.role is not Role.DISTRICT_OFFICER:
            raise refuse("wrong_role", "抽查复核由区民政局工作人员办理")
        if f.actor.username in self.case.excluded:
            raise refuse("recused", "您审批、接管或调查过本案，或与该户存在近亲属关系，依规不能复核")
        if self.finding is not None:
            raise refuse("closed", RECORDED)
        if self.recording:
            raise refuse("wrong_stage", RECORDING)

    @workflow.query(name=SupervisionNames.STATE)
    def state(self) -> RecheckState:
        status = self.finding.result if self.finding else "open"
        return RecheckState(recheck=self.case, status=status, finding=self.finding)
