"""Custom search attributes: the supervisor lists filter on these. Every server must know them."""

from temporalio.common import SearchAttributeKey

CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
ASSISTANCE_TYPE = SearchAttributeKey.for_keyword("AssistanceType")
TOWNSHIP = SearchAttributeKey.for_keyword("Township")
DEADLINE_DATE = SearchAttributeKey.for_datetime("DeadlineDate")
OVERDUE = SearchAttributeKey.for_bool("Overdue")

ALL = (CASE_STAGE, ASSISTANCE_TYPE, TOWNSHIP, DEADLINE_DATE, OVERDUE)
