"""The update a staff action is sent as, read from the action's table in `rules/`: the one place it is named
(the workflows declare their updates by the same specs)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from rules.actions import ActionSpec
from rules.emergency_actions import ACTIONS as EMERGENCY_ACTIONS
from rules.frontdoor_actions import COMPLAINT_ACTIONS, REFERRAL_ACTIONS, REQUEST_ACTIONS

# By the actions' enum: the front door's tables share values ("accept"), so a value alone does not say which.
_TABLES: dict[type, Mapping[StrEnum, ActionSpec]] = {
    type(next(iter(table))): table
    for table in (EMERGENCY_ACTIONS, REQUEST_ACTIONS, REFERRAL_ACTIONS, COMPLAINT_ACTIONS)
}


def update_of(action: StrEnum) -> str:
    """The name of the update that takes `action` on its workflow."""
    return _TABLES[type(action)][action].update
