"""Item writes in moto's DynamoDB atomic, as DynamoDB's are.

moto's server answers requests on many threads, and its `update_item` reads the item, checks the
condition, then creates or changes it with no lock. Two writes to one item at once can then both
pass a condition only one of them should (the pacer's compare-and-swap, the ledger's
`attribute_not_exists(outcome)`), or lose one of them: when the item is new, each creates its own
copy and the second replaces the first with everything written to it (seen in the 2,000-request
soak: a request's stored outcome replaced by a concurrent `open` of the same key, leaving it
RECEIVED after its outcome had been published). DynamoDB applies each item write atomically and
checks its condition against the item as it is; one lock over the backend's item operations gives
the same here (moto serves one process; its operations are short).

moto runs in its own process; `local.moto_stack.DEFAULT_PATCHES` has that process call `install()`
before it serves.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

ITEM_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)


def install() -> None:
    lock = threading.RLock()  # reentrant: a transaction writes through put_item and update_item
    for name in ITEM_OPERATIONS:
        original: Callable[..., Any] = getattr(DynamoDBBackend, name)
        if getattr(original, "atomic", False):
            continue

        @functools.wraps(original)
        def atomic(self: DynamoDBBackend, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        atomic.atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, atomic)
