"""alarms, alarmResponseFigures, acknowledgeAlarm, resolveAlarm, and the alarmRaised
subscription."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator

import strawberry

from app.context import Info
from app.ids import decode_id
from app.pagination import paginate
from app.resolvers.common import attempt
from app.schema.alarms import (
    AcknowledgeAlarmInput,
    Alarm,
    AlarmConnection,
    AlarmPayload,
    AlarmResponseFigures,
    AlarmStatus,
    ResolveAlarmInput,
)
from app.schema.permissions import allow
from app.services import alarms as svc
from app.services.clock import now
from app.viewer import Role

ALARM_ORDER = [("raised_at", -1), ("_id", -1)]
HANDLERS = [allow(Role.LANDLORD, Role.RESPONDER)]


@strawberry.type
class AlarmQueries:
    @strawberry.field(
        description="LANDLORD (own properties), RESPONDER and POLICE (their scope).",
        permission_classes=[allow(Role.LANDLORD, Role.RESPONDER, Role.POLICE)],
    )
    async def alarms(
        self,
        info: Info,
        status: AlarmStatus | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> AlarmConnection:
        query = svc.visible_filter(info.context.viewer)
        if status is not None:
            query["status"] = status.value
        page = await paginate(
            info.context.db.alarms, query, ALARM_ORDER, first=first, after=after, with_total=True
        )
        return AlarmConnection.from_page(page, ALARM_ORDER)

    @strawberry.field(
        description="RESPONDER and POLICE: time to acknowledge and to resolve alarms, per "
        "community of their scope, over the last `days` days.",
        permission_classes=[allow(Role.RESPONDER, Role.POLICE)],
    )
    async def alarm_response_figures(
        self, info: Info, days: int = 30
    ) -> list[AlarmResponseFigures]:
        since = now() - dt.timedelta(days=max(1, min(days, 366)))
        rows = await svc.response_figures(info.context.db, info.context.viewer, since)
        return [AlarmResponseFigures.from_row(r) for r in rows]


@strawberry.type
class AlarmMutations:
    @strawberry.mutation(permission_classes=HANDLERS)
    async def acknowledge_alarm(self, info: Info, input: AcknowledgeAlarmInput) -> AlarmPayload:
        ctx = info.context

        async def work() -> AlarmPayload:
            alarm_id = decode_id(input.alarm_id, "Alarm", ["alarmId"])
            return AlarmPayload(
                alarm=Alarm.from_doc(await svc.acknowledge(ctx.db, ctx.viewer, alarm_id))
            )

        return await attempt(AlarmPayload, work)

    @strawberry.mutation(permission_classes=HANDLERS)
    async def resolve_alarm(self, info: Info, input: ResolveAlarmInput) -> AlarmPayload:
        ctx = info.context

        async def work() -> AlarmPayload:
            alarm_id = decode_id(input.alarm_id, "Alarm", ["alarmId"])
            doc = await svc.resolve(ctx.db, ctx.viewer, alarm_id, input.note)
            return AlarmPayload(alarm=Alarm.from_doc(doc))

        return await attempt(AlarmPayload, work)


@strawberry.type
class AlarmSubscriptions:
    @strawberry.subscription(
        description="RESPONDER and POLICE: alarms raised in their scope; LANDLORD: on their "
        "properties.",
        permission_classes=[allow(Role.LANDLORD, Role.RESPONDER, Role.POLICE)],
    )
    async def alarm_raised(self, info: Info) -> AsyncGenerator[Alarm, None]:
        viewer = info.context.viewer
        svc.visible_filter(viewer)  # refuses other roles before anything is watched
        async for doc in info.context.state.live.watch("alarms", lambda d: svc.can_see(viewer, d)):
            yield Alarm.from_doc(doc)
