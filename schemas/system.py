"""What the end-to-end system check reports."""

from datetime import date

from pydantic import BaseModel


class SystemCheck(BaseModel):
    requested_by: str
    places: int
    users: int
    policy_version: int
    policy_effective_from: date
    worker: str
