"""alarms, alarmResponseFigures, acknowledgeAlarm, resolveAlarm, and the alarmRaised
subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

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
        description="LANDLORD (their own properties), RESPONDER and POLICE (their scope): "
        "alarms, newest first; pages of 20 by default.",
        permission_classes=SEE,
    )
    async def alarms(
        self,
        info: Info,
        status: Annotated[
            AlarmStatus | None,
            strawberry.argument(description="Only alarms in this status; all when omitted."),
        ] = None,
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
        self,
        info: Info,
        days: Annotated[
            int,
            strawberry.argument(
                description="The window: alarms raised in the last this many days, 1-366 "
                "(clamped); 30 by default."
            ),
        ] = 30,
    ) -> list[AlarmResponseFigures]:
        rows = await alarms.response_figures(info.context.deps, info.context.viewer, days)
        return [AlarmResponseFigures.from_row(r) for r in rows]


@strawberry.type
class AlarmMutations:
    @strawberry.mutation(
        description="LANDLORD (their own properties) and RESPONDER (their scope): says someone is "
        "on an ACTIVE alarm. Codes: INVALID_ID, NOT_FOUND, INVALID_TRANSITION (already"
        " acknowledged or resolved; of two at once, one wins).",
        permission_classes=HANDLERS,
    )
    async def acknowledge_alarm(
        self, info: Info, input: MutationInput[AcknowledgeAlarmInput]
    ) -> AlarmPayload:
        alarm_id = decode_id(input.alarm_id, "Alarm", ["alarmId"])
        doc = await alarms.acknowledge(info.context.deps, info.context.viewer, alarm_id)
        return AlarmPayload(alarm=Alarm.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD (their own properties) and RESPONDER (their scope): closes an ACTIVE"
        " or ACKNOWLEDGED alarm with a note. Codes: INVALID_ID, NOT_FOUND, REQUIRED, "
        "TOO_LONG (note), INVALID_TRANSITION (already resolved).",
        permission_classes=HANDLERS,
    )
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
