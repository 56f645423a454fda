"""API clients of a municipality: scopes, hashed secrets, short-lived access tokens."""
