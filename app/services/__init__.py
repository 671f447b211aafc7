"""Domain rules and database access, one module per domain. No GraphQL imports here."""
