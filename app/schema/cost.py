"""The cost of a request, computed before it runs: how many objects its answer could hold.

Depth, alias and token limits each bound one dimension, and `first <= 100` bounds one list;
together they still let a request multiply lists through nesting (15 aliases of
`myProperties(first: 100) { rooms(first: 100) { property { rooms(first: 100) ... } } }` ask
for about 10^7 objects). So each request's cost is counted, and one over `ANJU_COST_LIMIT`
(a setting) is refused with COST_LIMIT before any resolver runs, so before any database
command.

How it is computed, from the document, the schema and the variables:
- every field that returns an object (or a list of objects) counts once per object it could
  return; scalars (and `__typename`) count nothing;
- a field with a `first` argument (a connection) multiplies the list directly under it
  (`edges`, or the field itself if it is a list) by `first` as given: a literal, the variable's
  value, the variable's default, the argument's default; a value that is not a number counts as
  the most a page may hold (100), one outside 0..100 as 0 (the field refuses it:
  INVALID_ARGUMENT); a history that also pages backward counts `last` in the same way when
  `first` is not given (and 100 when neither is: its default page is smaller);
- any other list of objects (a room's doors, a lease's occupants) counts as 10 per parent;
- fragments count where they are spread, inline fragments as if every type matched.

So `myProperties(first: 20) { edges { node { rooms(first: 100) { edges { node { id } } } } } }`
costs 1 + 20 + 20 + 20 + 2,000 + 2,000 = 4,061. The computation stops as soon as the limit is
passed, and after a fixed number of selections visited, so a hostile document costs little to
refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    is_composite_type,
    value_from_ast_untyped,
)

from app.store import MAX_FIRST

LIST_SIZE = 10
MAX_VISITS = 20_000


class OverLimit(Exception):
    """The cost passed the limit (or the walk its number of visits)."""

    def __init__(self, cost: int) -> None:
        super().__init__(cost)
        self.cost = cost


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        defaults: Mapping[str, Any],
        limit: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.limit = limit
        self.total = 0
        self.visits = 0

    def add(self, amount: int) -> None:
        self.total += amount
        if self.total > self.limit:
            raise OverLimit(self.total)

    def selections(
        self,
        parent: Any,
        selection_set: SelectionSetNode,
        multiplier: int,
        page: int | None,
        spreading: frozenset[str],
    ) -> None:
        for selection in selection_set.selections:
            self.visits += 1
            if self.visits > MAX_VISITS:
                raise OverLimit(self.total)
            if isinstance(selection, FieldNode):
                self.field(parent, selection, multiplier, page, spreading)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(kind, selection.selection_set, multiplier, page, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spreading:
                    continue  # validation refuses unknown and cyclic fragments
                kind = self.schema.get_type(fragment.type_condition.name.value)
                self.selections(kind, fragment.selection_set, multiplier, page, spreading | {name})

    def field(
        self,
        parent: Any,
        node: FieldNode,
        multiplier: int,
        page: int | None,
        spreading: frozenset[str],
    ) -> None:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or not fields or name not in fields:
            return  # __typename; introspection and unknown fields are other rules' business
        definition = fields[name]
        kind = (
            definition.type.of_type
            if isinstance(definition.type, GraphQLNonNull)
            else (definition.type)
        )
        first = self.page_size(node, definition.args) if "first" in definition.args else None
        count = multiplier
        if isinstance(kind, GraphQLList):
            size = first if first is not None else page
            count *= size if size is not None else LIST_SIZE
            first = None
        named = get_named_type(kind)
        if not is_composite_type(named):
            return
        self.add(count)
        if node.selection_set is not None:
            self.selections(named, node.selection_set, count, first, spreading)

    def page_size(self, node: FieldNode, args: Mapping[str, GraphQLArgument]) -> int:
        """`first`, or else `last`, as this request gives it (see the module's docstring)."""
        size = self.given(node, "first", args["first"].default_value)
        if (size is None or size is Undefined) and "last" in args:
            size = self.given(node, "last", args["last"].default_value)
        if isinstance(size, bool) or not isinstance(size, int):
            return MAX_FIRST
        # outside 0..100 the field refuses the request itself (INVALID_ARGUMENT), and says
        # so better than a cost would: it returns nothing
        return size if 0 <= size <= MAX_FIRST else 0

    def given(self, node: FieldNode, name: str, default: Any) -> Any:
        """The argument `name` as this request gives it: a literal, the variable's value, the
        variable's default, the argument's default."""
        value: Any = default
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                variable = argument.value.name.value
                value = self.variables.get(variable, self.defaults.get(variable, default))
            else:
                value = value_from_ast_untyped(argument.value)
        return value


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limit: int,
) -> int:
    """The cost of the operation `operation_name` (or the only one) of `document`; raises
    OverLimit as soon as it passes `limit`."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name is not None and o.name.value == operation_name)
        ),
        None,
    )
    if operation is None:
        return 0
    root: GraphQLObjectType | None = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _Walk(schema, fragments, variables or {}, defaults, limit)
    walk.selections(root, operation.selection_set, 1, None, frozenset())
    return walk.total
