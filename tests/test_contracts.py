"""The activity contracts of `schemas.contracts` against what the worker registers, and the review actions
of `rules.stages` against their payloads in `schemas.review`: each side names the same things."""

from __future__ import annotations

import inspect
import typing

import asyncpg
from temporalio import activity

from rules.stages import ACTIONS, Action
from schemas.contracts import CONTRACTS
from schemas.review import ACTION_PAYLOADS
from tests.support.clock import SkippingEnvironment
from workers.main import activities_for


def _name(fn) -> str:
    defn = activity._Definition.from_callable(fn)
    assert defn is not None, f"{fn.__qualname__} is not an activity"
    return defn.name


def _shape(fn) -> tuple[list[str], dict]:
    params = [p for p in inspect.signature(fn).parameters if p != "self"]
    return params, typing.get_type_hints(fn)


async def test_the_worker_implements_every_declared_activity(pool: asyncpg.Pool, ts_env: SkippingEnvironment) -> None:
    registered = {_name(m): m for m in activities_for(pool, ts_env.client)}
    declared = {
        _name(fn): fn for contract in CONTRACTS for fn in vars(contract).values() if inspect.iscoroutinefunction(fn)
    }
    assert sorted(registered) == sorted(declared)
    for name, stub in declared.items():
        impl = registered[name].__func__
        assert impl is not stub, f"{name}: the worker registers the contract's stub, not an implementation"
        assert _shape(impl) == _shape(stub), f"{name}: the implementation's signature differs from its contract"


def test_every_action_has_its_payload_and_one_name() -> None:
    assert list(ACTION_PAYLOADS) == [a.value for a in Action] == [s.name.value for s in ACTIONS.values()]
    for action, model in ACTION_PAYLOADS.items():
        assert "actor" in model.model_fields, f"{action}: every action carries the acting person"
