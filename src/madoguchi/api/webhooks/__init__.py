"""Outgoing webhooks: CloudEvents 1.0 with ids only, HMAC-SHA256 signed, retried with backoff."""
