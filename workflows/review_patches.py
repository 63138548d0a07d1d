"""The review's `workflow.patched` ids, and the one marker a case started since records for all of them.

Each id is a change made while cases were in flight; a case records a marker for each branch it takes, and
core upserts the `TemporalChangeVersion` search attribute with it: two history events per id. A case started
since `CURRENT` records `CURRENT` once and takes every earlier branch (`since`); a case started before replays
exactly as it did (`CURRENT` is false while its history is replayed, and stays so). A change made after
`CURRENT` is patched on its own with `workflow.patched`, never through `since`.

The clock takes the same cut: a case started since `CURRENT` looks up its deadline and the verification
result's in one activity while nothing is paused (`workflows.review_clock`). So do search attributes: it sends
its updates in one upsert when the case moves or writes its event log (`SearchIndex`), and does not upsert again
those its starter set.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

# Cases started before this patch moved their stages inside the update handlers; since, `run()` does.
STAGES_MOVED_BY_RUN = "stages-moved-by-run"
# Since: the case's type, township and overdue flag are search attributes from the start.
CASE_SEARCH_ATTRIBUTES = "case-search-attributes"
# Cases started before this patch barred every namesake of a declared relative and ignored one without an
# account; since, a declared ID number bars its owner, a name alone only warns, and every declaration is filed
# and calls for the district's own home visit.
RELATIVES_BY_ID_NUMBER = "relatives-by-id-number"
# Since: notice periods that do not count stay out of the limits; a notice ending on a day off runs to the
# next working day (Civil Code art. 203); a refusal waits for its notice's delivery record.
NOTICE_EXCLUDED = "notice-days-excluded"
NOTICE_ART_203 = "notice-end-art-203"
REFUSAL_DELIVERY = "refusal-delivery"
# Cases started before a complaint during the public notice sent the case back kept it in the notice.
COMPLAINT_IN_NOTICE = "complaint-in-notice"
# Since: the case's timeline, which its handlers read, does not say that a complaint was made (nor its number):
# only that the district now visits the household itself.
COMPLAINT_UNNAMED = "complaint-unnamed-in-timeline"
# Since: a dibao approval the means test does not support goes to the district instead of being recorded.
MEANS_TEST_TO_DISTRICT = "means-test-to-district"
# Since: a case may be withdrawn or terminated before enrolment (run() ends it where it waits).
CLOSED_EARLY = "review-withdraw-terminate"

EARLIER = frozenset(
    {
        STAGES_MOVED_BY_RUN,
        CASE_SEARCH_ATTRIBUTES,
        RELATIVES_BY_ID_NUMBER,
        NOTICE_EXCLUDED,
        NOTICE_ART_203,
        REFUSAL_DELIVERY,
        COMPLAINT_IN_NOTICE,
        COMPLAINT_UNNAMED,
        MEANS_TEST_TO_DISTRICT,
        CLOSED_EARLY,
    }
)
# Since: one marker for all of EARLIER, and search-attribute updates sent together.
CURRENT = "review-2026-12"


# Patched on their own, since CURRENT (each called where its branch starts, so every case started since records it):
# a deadline a calendar import moved is written to the case row with an entry in the timeline;
DEADLINE_RECORDED = "deadline-recomputed-recorded"
# a complaint asks for a new visit by the district even if it visited before (the case does not stall);
COMPLAINT_NEW_VISIT = "complaint-new-district-visit"
# a second extension that passed its validator beside the first is refused in the handler;
EXTEND_ONCE = "extend-deadline-once"
# a refused case awaiting its notice's delivery counts the delivery date again when the calendar changes.
REFUSAL_RECOUNTED = "refusal-delivery-recounted"


def current() -> bool:
    """Whether this case was started since `CURRENT` (memoized by the SDK: the first call decides)."""
    return workflow.patched(CURRENT)


def since(patch_id: str) -> bool:
    """Whether this case takes the branch that the patch `patch_id` (one of EARLIER) added."""
    if patch_id not in EARLIER:
        raise ValueError(f"{patch_id} came after {CURRENT}: patch it with workflow.patched")
    return current() or workflow.patched(patch_id)


class SearchIndex:
    """The case's search-attribute updates: sent at once for a case started before `CURRENT`; since, kept
    until `flush` (the case moves, or writes its event log), then sent as one upsert."""

    def __init__(self) -> None:
        self.pending: dict[str, SearchAttributeUpdate] = {}

    def set(self, *updates: SearchAttributeUpdate) -> None:
        if not current():
            workflow.upsert_search_attributes(list(updates))
            return
        for u in updates:
            self.pending[u.key.name] = u

    def set_missing(self, *updates: SearchAttributeUpdate) -> None:
        """Those the starter did not set already (a case started since `CURRENT`); all of them before."""
        if current():
            given = workflow.info().typed_search_attributes
            updates = tuple(u for u in updates if given.get(u.key) is None)  # type: ignore[arg-type]
        if updates:
            self.set(*updates)

    def flush(self) -> None:
        if self.pending:
            workflow.upsert_search_attributes(list(self.pending.values()))
            self.pending = {}
