"""Side effects of the 12349 front door: request, referral and complaint rows, their event log, the
policy in force, and delivering a referral to its bureau (inbox or signed webhook). All idempotent."""

from __future__ import annotations

import time
from datetime import date

import asyncpg
import httpx
import structlog
from temporalio import activity

from db import emergency_repo, frontdoor_repo, policy_repo, webhook_repo
from schemas.contracts import FrontDoorContract
from schemas.emergency import OpenEventFound, OpenEventQuery
from schemas.frontdoor import ComplaintStart, DeliveryIn, FrontDoorLogIn, IntakeStart, ReferralResult
from schemas.policy import FrontDoorPolicy
from schemas.webhook import endpoint_refusal, signed_headers

log = structlog.get_logger(__name__)


class FrontDoorActivities(FrontDoorContract):
    def __init__(self, pool: asyncpg.Pool, timeout: float = 10.0, allow_plain_http: bool = False) -> None:
        self.pool = pool
        self.timeout = timeout
        self.allow_plain_http = allow_plain_http  # JIUZHU_WEBHOOK_ALLOW_HTTP (schemas.webhook.endpoint_refusal)

    @activity.defn
    async def front_door_policy(self, on: date) -> FrontDoorPolicy:
        async with self.pool.acquire() as conn:
            return (await policy_repo.in_force(conn, on)).front_door

    @activity.defn
    async def record_request(self, start: IntakeStart) -> None:
        info = activity.info()
        await frontdoor_repo.insert_request(self.pool, start, info.workflow_id, info.scheduled_time)

    @activity.defn
    async def open_referral(self, d: DeliveryIn) -> None:
        await frontdoor_repo.insert_referral(self.pool, d, activity.info().scheduled_time)

    @activity.defn
    async def deliver_referral(self, d: DeliveryIn) -> str:
        """The bureau's webhook if it has one (signed JSON; the bureau dedupes on the referral id), else
        its inbox in Jiuzhu, which is the referrals row itself. An endpoint the referral's personal data may not
        be sent to (plain HTTP off this machine) is not called: the inbox takes the referral, and its log says
        why (`delivery_refused`, with the code), as the bureau's staff and the desk see on its page."""
        r = d.referral
        endpoint = await webhook_repo.bureau_endpoint(self.pool, r.bureau.value)
        adapter = "inbox"
        refused = endpoint_refusal(endpoint.url, self.allow_plain_http) if endpoint else None
        if refused:
            code, message = refused
            summary = f"{r.bureau.label}接口未发送：{message}。已转入系统收件箱，请在系统内签收办理"
            await webhook_repo.refuse_delivery(self.pool, r.referral_id, code, summary, activity.info().scheduled_time)
            log.warning("referral not sent to its endpoint", referral_id=r.referral_id, bureau=r.bureau.value, why=code)
            return adapter
        if endpoint:
            body = r.model_dump_json().encode()
            path = httpx.URL(endpoint.url).raw_path.decode()  # the path and query the bureau receives
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    endpoint.url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Jiuzhu-Referral": r.referral_id,
                        # signed at each attempt: a fresh timestamp and nonce (schemas.webhook)
                        **signed_headers(endpoint.secret, "POST", path, body, time.time()),
                    },
                )
                response.raise_for_status()  # retried by Temporal until the bureau takes it
            adapter = "webhook"
        await frontdoor_repo.set_referral_adapter(self.pool, r.referral_id, adapter)
        log.info("referral delivered", referral_id=r.referral_id, bureau=r.bureau.value, adapter=adapter)
        return adapter

    @activity.defn
    async def record_referral_result(self, referral_id: str, result: ReferralResult) -> None:
        await frontdoor_repo.record_referral_result(self.pool, referral_id, result)

    @activity.defn
    async def open_complaint(self, c: ComplaintStart) -> None:
        info = activity.info()
        await frontdoor_repo.insert_complaint(self.pool, c, info.workflow_id, info.scheduled_time)

    @activity.defn
    async def log_frontdoor(self, e: FrontDoorLogIn) -> None:
        """Append to the front door's log and bring the subject's row up to date, in one transaction."""
        async with self.pool.acquire() as conn:
            await frontdoor_repo.write_log(conn, e)

    @activity.defn
    async def open_emergency_of(self, id_number: str) -> str | None:
        return await emergency_repo.open_event_of(self.pool, id_number)

    @activity.defn
    async def open_emergency_in(self, q: OpenEventQuery) -> OpenEventFound:
        found = await emergency_repo.open_event_place_of(self.pool, q.id_number)
        if found is None:
            return OpenEventFound()
        event_id, township = found
        return OpenEventFound(event_id=event_id) if township == q.township_code else OpenEventFound(elsewhere=True)

    @activity.defn
    async def case_handlers_of(self, case_id: str) -> list[str]:
        return await frontdoor_repo.handlers_of_case(self.pool, case_id)
