"""The data-linkage API: operations for other systems of a municipality (API clients)."""
