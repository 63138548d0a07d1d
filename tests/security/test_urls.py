"""No route takes an ID number or a phone number in its path or query string: URLs end up in proxy and
access logs and in browser history, where masking cannot reach. Generated from the app's routes, so a
new route that asks for one in its URL fails here."""

from __future__ import annotations

from typing import Any

from fastapi import params, routing
from fastapi.dependencies.utils import get_flat_params

from webapp.app import create_app

PERSONAL = {"id", "id_number", "id_no", "idcard", "phone", "mobile", "applicant_id"}


def routes() -> list[Any]:
    """The app's routes with their dependants (router-level dependencies included); mounts have none."""
    app = create_app(pool=None, client=None, secret_key="urls")
    return [r for r in routing.iter_route_contexts(app.routes) if getattr(r, "dependant", None) is not None]


def in_url(route: Any) -> set[str]:
    """Names of the path and query parameters of a route, its dependencies' included."""
    url_params = (params.Path, params.Query)
    return {p.alias for p in get_flat_params(route.dependant) if isinstance(p.field_info, url_params)}


def test_no_route_takes_personal_numbers_in_its_url() -> None:
    offenders = [
        f"{sorted(route.methods)} {route.path}: {name}"
        for route in routes()
        for name in in_url(route)
        if name.lower() in PERSONAL
    ]
    assert not offenders, "\n".join(offenders)


def test_the_check_sees_query_parameters() -> None:
    """The control: the case list's township filter is a query parameter the walk above does see."""
    found = routes()
    [cases] = [r for r in found if r.path == "/api/cases" and "GET" in r.methods]
    assert "township" in in_url(cases) and len(found) > 100
