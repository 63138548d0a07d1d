"""Staff roles, partner bureaus and the acting person carried into every workflow action."""

from pydantic import BaseModel, Field

from schemas.labels import LabelledEnum


class Role(LabelledEnum):
    VILLAGE_CADRE = "village_cadre", "村（社区）干部"
    TOWNSHIP_CASEWORKER = "township_caseworker", "乡镇经办人"
    TOWNSHIP_APPROVER = "township_approver", "乡镇审批人"
    DISTRICT_OFFICER = "district_officer", "区民政局工作人员"
    DISTRICT_SUPERVISOR = "district_supervisor", "区民政局监督员"
    BUREAU_STAFF = "bureau_staff", "部门工作人员"
    ADMIN = "admin", "系统管理员"


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


class Bureau(LabelledEnum):
    """The partner bureaus of the "8+1" system."""

    EMERGENCY = "emergency", "区应急管理局"
    HR_SOCIAL_SECURITY = "hrss", "区人社局"
    EDUCATION = "education", "区教体局"
    HOUSING = "housing", "区住建局/区房管中心"
    MEDICAL_INSURANCE = "medical", "区医保局"
    CHARITY = "charity", "区慈善协会"
    POLICE = "police", "区公安分局"


# A place's code: the district (6 digits), a township (9) or a village (12).
PLACE_CODE = r"^\d{6}(\d{3}){0,2}$"


class Actor(BaseModel):
    """Who performs an action, as authenticated by the API; workflows check role and jurisdiction."""

    username: str = Field(min_length=1, max_length=64)
    full_name: str = Field(min_length=1, max_length=64)
    role: Role
    place_code: str = Field(pattern=PLACE_CODE)
    bureau: Bureau | None = None


class StaffRef(BaseModel):
    """A user as the web app finds them by user name (the users table), for a workflow that cannot read it:
    the investigators of a home visit."""

    username: str = Field(min_length=1, max_length=64)
    full_name: str = Field(min_length=1, max_length=64)
    role: Role
    place_code: str = Field(pattern=PLACE_CODE)

    @property
    def role_label(self) -> str:
        return self.role.label


# Each member's label, to look up by a stored value (a member hashes as its value).
ROLE_LABELS = {r: r.label for r in Role}
BUREAU_LABELS = {b: b.label for b in Bureau}
