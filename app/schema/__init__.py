"""Assembles the schema from each domain's queries and mutations, with its protections."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.utils.str_converters import to_camel_case

from app.context import Info
from app.ids import parse_id
from app.resolvers.access_events import AccessEventQueries
from app.resolvers.accounts import AccountMutations, AccountQueries
from app.resolvers.alarms import AlarmMutations, AlarmQueries, AlarmSubscriptions
from app.resolvers.audit import AuditQueries
from app.resolvers.autopay import AutopayMutations
from app.resolvers.deposits import DepositMutations
from app.resolvers.devices import DeviceMutations
from app.resolvers.doors import DoorMutations
from app.resolvers.invoices import InvoiceMutations, InvoiceQueries
from app.resolvers.late_fees import LateFeeMutations
from app.resolvers.leases import LeaseMutations, LeaseQueries
from app.resolvers.listings import ListingMutations, ListingQueries
from app.resolvers.meters import MeterMutations, MeterQueries
from app.resolvers.notifications import (
    NotificationMutations,
    NotificationQueries,
    NotificationSubscriptions,
)
from app.resolvers.occupants import OccupantMutations
from app.resolvers.payments import PaymentMutations
from app.resolvers.properties import PropertyMutations, PropertyQueries
from app.resolvers.residents import ResidentQueries
from app.resolvers.rooms import RoomMutations
from app.resolvers.snapshots import SnapshotQueries
from app.resolvers.stats import StatsQueries
from app.schema.common import SCALAR_MAP, Node
from app.schema.extensions import CodedErrors, DocumentCache, PoliceReadOnly, RoundTripFigures
from app.schema.mutation import UserErrors, has_user_errors
from app.schema.node import NODE_RESOLVERS
from app.settings import Settings

# Limits (OWASP GraphQL cheat sheet). The deepest real query, the landlord dashboard
# (myProperties > rooms > activeLease > invoices > payments, through connections), is 12
# levels deep; the apps use a handful of aliases; their largest document is under 600 tokens.
MAX_DEPTH = 12
MAX_ALIASES = 15
MAX_TOKENS = 2000

# Session mutations POLICE may call; every other mutation refuses POLICE centrally.
SESSION_MUTATIONS = {
    "signUp",
    "requestPhoneCode",
    "logIn",
    "logInWithCode",
    "refreshSession",
    "logOut",
    "logOutEverywhere",
    "changePassword",
    "resetPassword",
}


@strawberry.type
class NodeQueries:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        parsed = parse_id(id)
        if parsed is None:
            return None
        resolver = NODE_RESOLVERS.get(parsed[0])
        return await resolver(info, parsed[1]) if resolver else None


# One line per domain, so that adding a domain is adding a line (in the order of the API).
QUERY_PARTS: tuple[type, ...] = (
    NodeQueries,
    AccountQueries,
    PropertyQueries,
    ListingQueries,
    StatsQueries,
    ResidentQueries,
    AuditQueries,
    AlarmQueries,
    LeaseQueries,
    AccessEventQueries,
    SnapshotQueries,
    InvoiceQueries,
    MeterQueries,
    NotificationQueries,
)
MUTATION_PARTS: tuple[type, ...] = (
    AccountMutations,
    PropertyMutations,
    RoomMutations,
    DeviceMutations,
    ListingMutations,
    AlarmMutations,
    LeaseMutations,
    OccupantMutations,
    DoorMutations,
    PaymentMutations,
    InvoiceMutations,
    AutopayMutations,
    LateFeeMutations,
    MeterMutations,
    DepositMutations,
    NotificationMutations,
)
SUBSCRIPTION_PARTS: tuple[type, ...] = (AlarmSubscriptions, NotificationSubscriptions)

Query = merge_types("Query", QUERY_PARTS)
Mutation = merge_types("Mutation", MUTATION_PARTS)
Subscription = merge_types("Subscription", SUBSCRIPTION_PARTS)

for _field in Mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
    if (
        _field.graphql_name not in SESSION_MUTATIONS
        and to_camel_case(_field.python_name) not in SESSION_MUTATIONS
    ):
        _field.extensions.append(PoliceReadOnly())
    if has_user_errors(_field):
        _field.extensions.append(UserErrors())


# The depth and alias validators are classes made by their extensions: made once, so that
# every request adds the same rules and the validation cache recognises a document.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]
DOCUMENT_CACHE = 256


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    production = bool(settings and settings.production)
    introspection = settings.introspection if settings else True
    extensions: list[type[SchemaExtension] | Any] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(LIMIT_RULES),
        # the apps send the same few documents over and over: parse and validate each once
        # (bounded LRU caches, keyed by the text and the parse options / the document and
        # the rules, so a document over a limit is refused every time)
        DocumentCache,
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE),
        CodedErrors,
        RoundTripFigures,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production, scalar_map=SCALAR_MAP),
    )
