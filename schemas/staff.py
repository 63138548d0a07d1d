"""Staff roles, partner bureaus and the acting person carried into every workflow action."""

from enum import StrEnum

from pydantic import BaseModel, Field


class Role(StrEnum):
    VILLAGE_CADRE = "village_cadre"
    TOWNSHIP_CASEWORKER = "township_caseworker"
    TOWNSHIP_APPROVER = "township_approver"
    DISTRICT_OFFICER = "district_officer"
    DISTRICT_SUPERVISOR = "district_supervisor"
    BUREAU_STAFF = "bureau_staff"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.VILLAGE_CADRE: "村（社区）干部",
    Role.TOWNSHIP_CASEWORKER: "乡镇经办人",
    Role.TOWNSHIP_APPROVER: "乡镇审批人",
    Role.DISTRICT_OFFICER: "区民政局工作人员",
    Role.DISTRICT_SUPERVISOR: "区民政局监督员",
    Role.BUREAU_STAFF: "部门工作人员",
    Role.ADMIN: "系统管理员",
}

# The level of place each role's jurisdiction must be.
ROLE_LEVEL = {
    Role.VILLAGE_CADRE: "village",
    Role.TOWNSHIP_CASEWORKER: "township",
    Role.TOWNSHIP_APPROVER: "township",
    Role.DISTRICT_OFFICER: "district",
    Role.DISTRICT_SUPERVISOR: "district",
    Role.BUREAU_STAFF: "district",
    Role.ADMIN: "district",
}


class Bureau(StrEnum):
    """The partner bureaus of the "8+1" system."""

    EMERGENCY = "emergency"
    HR_SOCIAL_SECURITY = "hrss"
    EDUCATION = "education"
    HOUSING = "housing"
    MEDICAL_INSURANCE = "medical"
    CHARITY = "charity"
    POLICE = "police"

    @property
    def label(self) -> str:
        return BUREAU_LABELS[self]


BUREAU_LABELS = {
    Bureau.EMERGENCY: "区应急管理局",
    Bureau.HR_SOCIAL_SECURITY: "区人社局",
    Bureau.EDUCATION: "区教体局",
    Bureau.HOUSING: "区住建局/区房管中心",
    Bureau.MEDICAL_INSURANCE: "区医保局",
    Bureau.CHARITY: "区慈善协会",
    Bureau.POLICE: "区公安分局",
}


class Actor(BaseModel):
    """Who performs an action, as authenticated by the API; workflows check role and jurisdiction."""

    username: str = Field(min_length=1, max_length=64)
    full_name: str = Field(min_length=1, max_length=64)
    role: Role
    place_code: str = Field(pattern=r"^\d{6}(\d{3}){0,2}$")
    bureau: Bureau | None = None


class StaffRef(BaseModel):
    """A user as the web app finds them by user name (the users table), for a workflow that cannot read it:
    the investigators of a home visit."""

    username: str = Field(min_length=1, max_length=64)
    full_name: str = Field(min_length=1, max_length=64)
    role: Role
    place_code: str = Field(pattern=r"^\d{6}(\d{3}){0,2}$")

    @property
    def role_label(self) -> str:
        return self.role.label
