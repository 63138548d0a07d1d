"""No route takes an ID number or a phone number in its path or query string: URLs end up in proxy and
access logs and in browser history, where masking cannot reach. Generated from the app's routes, so a
new route that asks for one in its URL fails here."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Query, params, routing
from fastapi.dependencies.utils import get_flat_params

from webapp.app import create_app

PERSONAL = {"id", "id_number", "id_no", "idcard", "phone", "mobile", "applicant_id"}


def routes(app: FastAPI | None = None) -> list[Any]:
    """The app's routes with their dependants (router-level dependencies included); mounts have none."""
    app = app or create_app(pool=None, client=None, secret_key="urls")
    return [r for r in routing.iter_route_contexts(app.routes) if getattr(r, "dependant", None) is not None]


def in_url(route: Any) -> set[str]:
    """Names of the path and query parameters of a route, its dependencies' included."""
    url_params = (params.Path, params.Query)
    return {p.alias for p in get_flat_params(route.dependant) if isinstance(p.field_info, url_params)}


def offenders(app: FastAPI | None = None) -> list[str]:
    return sorted(
        f"{sorted(route.methods)} {route.path}: {name}"
        for route in routes(app)
        for name in in_url(route)
        if name.lower() in PERSONAL
    )


def test_no_route_takes_personal_numbers_in_its_url() -> None:
    found = offenders()
    assert not found, "\n".join(found)


def test_the_check_sees_query_path_and_dependency_parameters() -> None:
    """The control: the walk above sees the parameters of the app's routes, and it would name a route that asked
    for an ID number in its query string or, through a dependency, a phone number in its path."""
    found = {(r.path, m): in_url(r) for r in routes() for m in r.methods}
    assert found[("/api/cases", "GET")] == {
        "accepted_from",
        "accepted_to",
        "assistance_type",
        "deadline_before",
        "overdue",
        "page",
        "page_size",
        "q",  # the applicant's name (a prefix), not a number
        "stage",
        "township",
    }
    assert found[("/cases/{case_id}/act/{action}", "POST")] == {"case_id", "action"}

    def by_phone(phone: str) -> str:
        return phone

    probe = FastAPI()

    @probe.get("/probe")
    def lookup(id_number: str = Query()) -> None: ...

    @probe.get("/people/{phone}")
    def person(who: str = Depends(by_phone)) -> None: ...

    assert offenders(probe) == ["['GET'] /people/{phone}: phone", "['GET'] /probe: id_number"]
