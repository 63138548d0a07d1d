"""Custom search attributes: the supervisor lists filter on these. Every server must know them."""

from temporalio.common import SearchAttributeKey, SearchAttributePair

CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
ASSISTANCE_TYPE = SearchAttributeKey.for_keyword("AssistanceType")
TOWNSHIP = SearchAttributeKey.for_keyword("Township")
DEADLINE_DATE = SearchAttributeKey.for_datetime("DeadlineDate")
OVERDUE = SearchAttributeKey.for_bool("Overdue")

ALL = (CASE_STAGE, ASSISTANCE_TYPE, TOWNSHIP, DEADLINE_DATE, OVERDUE)


def at_start(assistance_type: str, township_code: str) -> list[SearchAttributePair]:
    """What a review case is searched by from its start: its starter sets them (the workflow upserts any missing)."""
    return [
        SearchAttributePair(CASE_STAGE, "accepted"),
        SearchAttributePair(ASSISTANCE_TYPE, assistance_type),
        SearchAttributePair(TOWNSHIP, township_code),
        SearchAttributePair(OVERDUE, False),
    ]
