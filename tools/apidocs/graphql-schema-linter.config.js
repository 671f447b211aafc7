// graphql-schema-linter's rules for schema.graphql, run by `make check`.
//
// On: every rule the linter has, except the four below.
// - descriptions: types, fields, arguments, input fields and enum values all have one, and
//   each starts with a capital letter;
// - Relay: connection types, connection arguments (first/after, last/before) and PageInfo as
//   the Relay connection spec has them;
// - naming: types capitalised, fields and input fields camelCase, enum values ALL_CAPS;
// - deprecations give a reason, and every type defined is used.
//
// Off, and why:
// - type-fields-sorted-alphabetically, input-object-fields-sorted-alphabetically,
//   interface-fields-sorted-alphabetically: fields are ordered for reading (the id, then what
//   the object is, then its links; an input's target id first), which is also the order the
//   reference and GraphiQL show them in; alphabetical order would scatter them.
// - enum-values-sorted-alphabetically: values are in the order of their lifecycle or of how
//   often they are used (ACTIVE > ACKNOWLEDGED > RESOLVED; OPEN > SCHEDULED > ... > CONFIRMED).
const off = new Set([
  'type-fields-sorted-alphabetically',
  'input-object-fields-sorted-alphabetically',
  'interface-fields-sorted-alphabetically',
  'enum-values-sorted-alphabetically',
]);

module.exports = {
  rules: [
    'arguments-have-descriptions',
    'defined-types-are-used',
    'deprecations-have-a-reason',
    'descriptions-are-capitalized',
    'enum-values-all-caps',
    'enum-values-have-descriptions',
    'enum-values-sorted-alphabetically',
    'fields-are-camel-cased',
    'fields-have-descriptions',
    'input-object-fields-sorted-alphabetically',
    'input-object-values-are-camel-cased',
    'input-object-values-have-descriptions',
    'interface-fields-sorted-alphabetically',
    'relay-connection-arguments-spec',
    'relay-connection-types-spec',
    'relay-page-info-spec',
    'type-fields-sorted-alphabetically',
    'types-are-capitalized',
    'types-have-descriptions',
  ].filter((rule) => !off.has(rule)),
};
