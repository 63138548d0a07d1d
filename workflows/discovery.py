"""A discovery task (主动发现任务): a person a partner bureau signalled, who receives no matching help, to be
visited by the township of household registration within the policy's working days (statutory calendar, from
the day the list was matched). The township records the outcome (applied / not eligible / declined / not found)
through an update whose validator refuses at once; a task not visited by the close of its last day is reported
to the district, and waits for its outcome still. When the calendar changes (signal `CALENDAR_CHANGED`, from
`infra.calendar_news`) a visit not yet due is counted again from the same day, and the task's row takes the new
date."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.common import ACTIVITY, notify, refuse, today, working_days

# Since: a calendar import counts the visit's deadline again (while it has not passed) and writes it to the row.
VISIT_RECOUNTED = "discovery-visit-recounted"

with workflow.unsafe.imports_passed_through():
    from rules.access import within
    from rules.actions import DESK
    from rules.clock import end_of
    from schemas.contracts import DiscoveryContract
    from schemas.discovery import (
        DiscoveryNames,
        DiscoveryStart,
        DiscoveryState,
        Outcome,
        OutcomeIn,
        OutcomeRecorded,
        TaskEscalated,
    )
    from schemas.policy import CALENDAR_CHANGED
    from schemas.review import NotificationIn
    from schemas.staff import Role

NOTE_NEEDED = frozenset({Outcome.NOT_ELIGIBLE, Outcome.DECLINED, Outcome.NOT_FOUND})


@workflow.defn(name=DiscoveryNames.WORKFLOW)
class DiscoveryWorkflow:
    @workflow.init
    def __init__(self, start: DiscoveryStart) -> None:
        self.start = start
        self.visit_due = None
        self.provisional = False  # the visit's deadline runs through a year without a holiday notice (暂定)
        self.escalated_at = None
        self.recount_requested = False
        self.outcome: OutcomeRecorded | None = None
        self.recording = False

    @workflow.run
    async def run(self, start: DiscoveryStart) -> DiscoveryState:
        due = await working_days(start.created_on, start.visit_working_days)
        self.visit_due, self.provisional = due.deadline, due.provisional
        await workflow.execute_activity_method(
            DiscoveryContract.open_discovery_task, args=[start.task_id, self.visit_due, self.provisional], **ACTIVITY
        )
        await notify(
            NotificationIn(
                idempotency_key=f"discovery-new-{start.task_id}",
                case_id=None,
                audience=f"role:township_caseworker@{start.township_code}",
                kind="discovery-task",
                subject="新的主动发现任务",
                body=f"主动发现任务 {start.task_id}（{start.kind.label}）：请于 {self.visit_due} 前入户核实",
                deliver_by=self.visit_due,
            )
        )
        if not await self.visited():
            # a passed limit is final: it is not counted again, so it stands as counted (no longer 暂定)
            self.escalated_at, self.provisional = workflow.now(), False
            escalation = TaskEscalated(
                task_id=start.task_id,
                township_code=start.township_code,
                kind=start.kind,
                visit_due=self.visit_due,
                at=self.escalated_at,
            )
            await workflow.execute_activity_method(DiscoveryContract.escalate_discovery_task, escalation, **ACTIVITY)
            await workflow.wait_condition(lambda: self.outcome is not None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def visited(self) -> bool:
        """Whether the outcome came by the close of the visit's last day (counted again if the calendar changes
        before)."""
        while True:
            assert self.visit_due is not None
            late = end_of(self.visit_due) - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: self.outcome is not None or self.recount_requested, timeout=max(late, timedelta(0))
                )
            except TimeoutError:
                return False
            if self.outcome is not None:
                return True
            await self.recount()

    @workflow.signal(name=CALENDAR_CHANGED)
    def calendar_changed(self) -> None:
        """A calendar import changed the working days: the visit's deadline is counted again."""
        self.recount_requested = True

    async def recount(self) -> None:
        """The visit's deadline counted again from the day the list was matched; a moved one (or one no longer
        provisional) written to the task's row (暂定 there while it is)."""
        self.recount_requested = False
        if not workflow.patched(VISIT_RECOUNTED):
            return
        due = await working_days(self.start.created_on, self.start.visit_working_days)
        if (due.deadline, due.provisional) == (self.visit_due, self.provisional) or self.outcome is not None:
            return
        self.visit_due, self.provisional = due.deadline, due.provisional
        await workflow.execute_activity_method(
            DiscoveryContract.open_discovery_task,
            args=[self.start.task_id, self.visit_due, self.provisional],
            **ACTIVITY,
        )

    @workflow.update(name=DiscoveryNames.RECORD_OUTCOME)
    async def record_outcome(self, o: OutcomeIn) -> DiscoveryState:
        if self.recording or self.outcome is not None:  # another outcome validated in the same task came first
            raise refuse("wrong_stage", "该任务的核实结果已录入")
        self.recording = True
        assert self.visit_due is not None
        recorded = OutcomeRecorded(
            task_id=self.start.task_id,
            outcome=o.outcome,
            visited_on=o.visited_on,
            on_time=o.visited_on <= self.visit_due,
            actor=o.actor,
            note=o.note.strip(),
            case_id=o.case_id,
        )
        await workflow.execute_activity_method(DiscoveryContract.record_discovery_outcome, recorded, **ACTIVITY)
        self.outcome = recorded
        return self.state()

    @record_outcome.validator
    def _v_record_outcome(self, o: OutcomeIn) -> None:
        if self.outcome is not None or self.recording:
            raise refuse("wrong_stage", "该任务的核实结果已录入")
        if self.visit_due is None:
            raise refuse("not_ready", "任务尚未建立完成，请稍后再试")
        if o.actor.role.value not in DESK:
            raise refuse("wrong_role", "主动发现任务由乡镇（街道）经办人、审批人或区民政局工作人员录入核实结果")
        if not within(o.actor.place_code, self.start.township_code):
            raise refuse("out_of_jurisdiction", "该任务不在您的辖区内")
        if o.actor.role is Role.DISTRICT_OFFICER and self.escalated_at is None:
            raise refuse("wrong_role", "未超期的任务由乡镇（街道）录入核实结果；超期上报后区民政局可以录入")
        if not self.start.created_on <= o.visited_on <= today():
            raise refuse("invalid", f"入户核实日期须在 {self.start.created_on} 至今天之间")
        if o.outcome in NOTE_NEEDED and len(o.note.strip()) < 2:
            raise refuse("incomplete", f"「{o.outcome.label}」须填写核实情况说明")

    @workflow.query(name=DiscoveryNames.STATE)
    def state(self) -> DiscoveryState:
        status = (
            "done" if self.outcome else "escalated" if self.escalated_at else "open" if self.visit_due else "opening"
        )
        return DiscoveryState(
            task_id=self.start.task_id,
            status=status,
            visit_due=self.visit_due,
            provisional=self.provisional,
            escalated_at=self.escalated_at,
            outcome=self.outcome.outcome if self.outcome else None,
            on_time=self.outcome.on_time if self.outcome else None,
        )
