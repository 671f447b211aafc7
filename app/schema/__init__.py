"""Assembles the schema from each domain's queries and mutations, with its protections."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import validate_document
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.utils.str_converters import to_camel_case

from app.context import Info
from app.ids import parse_id
from app.observe import ObservedOperation
from app.resolvers.access_events import AccessEventQueries
from app.resolvers.accounts import AccountMutations, AccountQueries
from app.resolvers.alarms import AlarmMutations, AlarmQueries, AlarmSubscriptions
from app.resolvers.audit import AuditQueries
from app.resolvers.autopay import AutopayMutations
from app.resolvers.deposits import DepositMutations
from app.resolvers.devices import DeviceMutations
from app.resolvers.doors import DoorMutations
from app.resolvers.hazards import HazardQueries
from app.resolvers.inspections import InspectionMutations, InspectionQueries
from app.resolvers.invoices import InvoiceMutations, InvoiceQueries
from app.resolvers.late_fees import LateFeeMutations
from app.resolvers.leases import LeaseMutations, LeaseQueries
from app.resolvers.listings import ListingMutations, ListingQueries
from app.resolvers.maintenance import MaintenanceMutations, MaintenanceQueries
from app.resolvers.meters import MeterMutations, MeterQueries
from app.resolvers.notifications import (
    NotificationMutations,
    NotificationQueries,
    NotificationSubscriptions,
)
from app.resolvers.occupants import OccupantMutations
from app.resolvers.payments import PaymentMutations
from app.resolvers.properties import PropertyMutations, PropertyQueries
from app.resolvers.rectifications import RectificationMutations
from app.resolvers.residents import ResidentQueries
from app.resolvers.rooms import RoomMutations
from app.resolvers.safety_stats import SafetyStatsQueries
from app.resolvers.snapshots import SnapshotQueries
from app.resolvers.stats import StatsQueries
from app.resolvers.uploads import UploadMutations
from app.resolvers.visitor_passes import VisitorPassMutations, VisitorPassQueries
from app.schema.common import SCALAR_MAP, Node
from app.schema.extensions import (
    CodedErrors,
    CostLimit,
    DocumentCache,
    PoliceReadOnly,
    RoundTripFigures,
    log_errors,
)
from app.schema.mutation import UserErrors, has_user_errors
from app.schema.node import NODE_RESOLVERS
from app.schema.persisted import PersistedDocument, PersistedDocuments
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
    @strawberry.field(
        description="Anyone: the object of a global ID (Relay's object identification), as "
        "the caller may see it; null for an unknown or malformed ID and for another owner's "
        "object alike, so IDs cannot be probed."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="A global ID any `id` field answered.")
        ],
    ) -> Node | None:
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
    VisitorPassQueries,
    SnapshotQueries,
    InvoiceQueries,
    MeterQueries,
    NotificationQueries,
    MaintenanceQueries,
    InspectionQueries,
    HazardQueries,
    SafetyStatsQueries,
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
    VisitorPassMutations,
    PaymentMutations,
    InvoiceMutations,
    AutopayMutations,
    LateFeeMutations,
    MeterMutations,
    DepositMutations,
    NotificationMutations,
    UploadMutations,
    MaintenanceMutations,
    InspectionMutations,
    RectificationMutations,
)
SUBSCRIPTION_PARTS: tuple[type, ...] = (AlarmSubscriptions, NotificationSubscriptions)

Query = merge_types("Query", QUERY_PARTS)
Mutation = merge_types("Mutation", MUTATION_PARTS)
Subscription = merge_types("Subscription", SUBSCRIPTION_PARTS)
# merge_types takes no description: the root types get theirs here
Query.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "What an app may read. Each field says which roles may ask (a wrong role is the GraphQL "
    "error FORBIDDEN, no token UNAUTHENTICATED); lists are Relay connections of at most 100 "
    "a page; times are UTC, money integer fen (1 yuan = 100 fen), areas square metres."
)
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "What an app may change. Each mutation says which roles may call it and the codes its "
    "payload's userErrors may carry; a wrong role is FORBIDDEN, another owner's object "
    "NOT_FOUND exactly as a missing one. POLICE is read-only: only the session mutations "
    "accept it."
)
Subscription.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Live events over graphql-transport-ws, with the access token in connection_init; the "
    "subscription closes when the token expires or its session ends."
)

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
# validations of documents that are not persisted ones (development, tests): bounded, keyed by
# the document and the rules, so a document over a limit is refused every time
_validate_cached = functools.lru_cache(maxsize=DOCUMENT_CACHE)(validate_document)


class AnjuSchema(strawberry.Schema):
    """The schema, with the persisted documents it serves (app/schema/persisted.py)."""

    persisted: PersistedDocuments

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry would log every error with its message (the values a client sent) and
        traceback before CodedErrors masks it; Anju logs what app/log_safety.py allows."""
        log_errors(errors, execution_context)


def build_schema(settings: Settings | None = None, *, with_manifest: bool = True) -> AnjuSchema:
    """The schema with its limits; its persisted documents parsed and validated (an invalid
    manifest stops the start: ManifestError). `make schema` exports it without them."""
    production = bool(settings and settings.production)
    introspection = settings.introspection if settings else True
    persisted = PersistedDocuments()
    extensions: list[type[SchemaExtension] | Any] = [
        ObservedOperation,  # first: it sees the errors once the others have coded them
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(LIMIT_RULES),
        # the apps' persisted documents were parsed and validated at start; any other
        # document is parsed and validated once per distinct text (bounded caches)
        lambda: PersistedDocument(persisted, _validate_cached),
        DocumentCache,
        CostLimit,
        CodedErrors,
        RoundTripFigures,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    schema = AnjuSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production, scalar_map=SCALAR_MAP),
    )
    schema.persisted = persisted.load(schema._schema, LIMIT_RULES) if with_manifest else persisted
    return schema
