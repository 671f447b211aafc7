"""alarms, alarmResponseFigures, acknowledgeAlarm, resolveAlarm, and the alarmRaised
subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.alarms import (
    AcknowledgeAlarmInput,
    Alarm,
    AlarmPayload,
    AlarmResponseFigures,
    AlarmStatus,
    ResolveAlarmInput,
)
from app.schema.common import MutationInput
from app.schema.connection import After, Connection, First
from app.schema.permissions import allow
from app.services import alarms
from app.viewer import Role

SEE = [allow(Role.LANDLORD, Role.RESPONDER, Role.POLICE)]
HANDLERS = [allow(Role.LANDLORD, Role.RESPONDER)]


@strawberry.type
class AlarmQueries:
    @strawberry.field(
        description="LANDLORD (own properties), RESPONDER and POLICE (their scope).",
        permission_classes=SEE,
    )
    async def alarms(
        self,
        info: Info,
        status: AlarmStatus | None = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[Alarm]:
        page = await alarms.alarms(
            info.context.deps,
            info.context.viewer,
            status.value if status else None,
            first=first,
            after=after,
        )
        return Connection.of(page, Alarm.from_doc)

    @strawberry.field(
        description="RESPONDER and POLICE: time to acknowledge and to resolve alarms, per "
        "community of their scope, over the last `days` days.",
        permission_classes=[allow(Role.RESPONDER, Role.POLICE)],
    )
    async def alarm_response_figures(
        self, info: Info, days: int = 30
    ) -> list[AlarmResponseFigures]:
        rows = await alarms.response_figures(info.context.deps, info.context.viewer, days)
        return [AlarmResponseFigures.from_row(r) for r in rows]


@strawberry.type
class AlarmMutations:
    @strawberry.mutation(permission_classes=HANDLERS)
    async def acknowledge_alarm(
        self, info: Info, input: MutationInput[AcknowledgeAlarmInput]
    ) -> AlarmPayload:
        alarm_id = decode_id(input.alarm_id, "Alarm", ["alarmId"])
        doc = await alarms.acknowledge(info.context.deps, info.context.viewer, alarm_id)
        return AlarmPayload(alarm=Alarm.from_doc(doc))

    @strawberry.mutation(permission_classes=HANDLERS)
    async def resolve_alarm(
        self, info: Info, input: MutationInput[ResolveAlarmInput]
    ) -> AlarmPayload:
        alarm_id = decode_id(input.alarm_id, "Alarm", ["alarmId"])
        doc = await alarms.resolve(info.context.deps, info.context.viewer, alarm_id, input.note)
        return AlarmPayload(alarm=Alarm.from_doc(doc))


@strawberry.type
class AlarmSubscriptions:
    @strawberry.subscription(
        description="RESPONDER and POLICE: alarms raised in their scope; LANDLORD: on their "
        "properties.",
        permission_classes=SEE,
    )
    async def alarm_raised(self, info: Info) -> AsyncGenerator[Alarm, None]:
        async for doc in alarms.watch_raised(info.context.deps, info.context.viewer):
            yield Alarm.from_doc(doc)
