"""Schemathesis hooks for cairn's contract test (tests/contract.rs).

Every command gets a fresh Idempotency-Key: a key is a promise that two requests are the same
command, and reusing one with another body is refused (422, as the IETF Idempotency-Key draft
requires), which says nothing about the schema.
"""

import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
