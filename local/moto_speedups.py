"""Two of moto's hot spots, made cheap for the local stack: the same answers, less CPU.

moto runs in a process of its own (`local.moto_process`), which installs these before it serves
(`local.moto_stack.DEFAULT_PATCHES`). They still matter there: moto answers every SQS, DynamoDB and
EventBridge call on one interpreter, so when its process saturates a core every handler waits on
it. The 600-request chaos soak (`make chaos-quick`) took 198 s with these, moto's process using
97 s of CPU, and 350 s without, moto using 262 s and 11 invocations overrunning their timeout while
waiting on SQS and DynamoDB answers. A profile of the soak when everything shared one process
(py-spy, 60 s) put about a quarter of all samples in moto's SQS clock and one tenth in its routing:
- `Message.visible` / `Message.delayed` read the clock through `unix_time_millis()`, which builds
  two naive datetimes and subtracts them, for every message of a queue on every ReceiveMessage and
  GetQueueAttributes. With hundreds of messages queued that dominates. `time.time()` is the same
  number (seconds since the epoch, UTC) without the datetimes.
- The server's dispatcher lists moto's package directory (`os.listdir` plus an `isdir` for each of
  ~200 entries) on every request, under the dispatcher's global lock. The directory does not change
  while the process runs, so the list is read once.
- `TransactWriteItems` deep-copies the whole table once for every item it names, to roll back on
  failure: with the bench's ledger (hundreds of items) a three-item transaction cost more CPU than
  the three writes it replaced (the spread workload's moto DynamoDB process went from 10.8 to 15.9 s
  of CPU with 66 transactions). The items a transaction names are backed up instead, and restored
  if it fails; moto's own table copies are skipped (its rollback assigns each table to itself).
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import moto.backends
import moto.dynamodb.models
import moto.sqs.models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_original_unix_time_millis = moto.sqs.models.unix_time_millis
_original_unix_time = moto.sqs.models.unix_time
_original_list_of_moto_modules = moto.backends.list_of_moto_modules


def _unix_time_millis(dt: datetime | None = None) -> float:
    return time.time() * 1000.0 if dt is None else _original_unix_time_millis(dt)


def _unix_time(dt: datetime | None = None) -> float:
    return time.time() if dt is None else _original_unix_time(dt)


@functools.cache
def _moto_modules() -> frozenset[str]:
    return frozenset(_original_list_of_moto_modules())


def _list_of_moto_modules() -> Iterable[str]:
    return _moto_modules()


_original_transact_write_items = DynamoDBBackend.transact_write_items
_in_transaction = threading.local()


class _CopyWithoutTableBackups:
    """`copy` as moto.dynamodb.models sees it: the same, except that a table deep-copied while this
    thread runs a transaction backed up item by item (`_transact_write_items`) is the table itself."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table) and getattr(_in_transaction, "active", False):
            return value
        return copy.deepcopy(value, memo)


def _item_key(
    table: Table, kind: str, operation: dict[str, Any]
) -> tuple[DynamoType, DynamoType | None] | None:
    """The named item's key; None when the operation names none (moto's own validation answers)."""
    attributes = operation.get("Item" if kind == "Put" else "Key") or {}
    if table.hash_key_attr not in attributes:
        return None
    range_key = attributes.get(table.range_key_attr) if table.range_key_attr else None
    return DynamoType(attributes[table.hash_key_attr]), None if range_key is None else DynamoType(range_key)


def _restore(table: Table, hash_key: DynamoType, range_key: DynamoType | None, item: Item | None) -> None:
    if item is None:
        table.delete_item(hash_key, range_key)
    elif range_key is not None:
        table.items[hash_key][range_key] = item
    else:
        table.items[hash_key] = item


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    backups: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
    for entry in transact_items:
        kind, operation = next(iter(entry.items()))
        table = self.tables.get(operation.get("TableName", ""))
        if table is None or kind not in {"Put", "Update", "Delete"}:
            continue  # moto's own validation answers for it; a ConditionCheck writes nothing
        key = _item_key(table, kind, operation)
        if key is None:
            continue
        hash_key, range_key = key
        backups.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    _in_transaction.active = True
    try:
        _original_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_key, range_key, item in reversed(backups):
            _restore(table, hash_key, range_key, item)
        raise
    finally:
        _in_transaction.active = False


def install() -> None:
    """Idempotent: moto's server in this process gets the same, cheaper answers."""
    moto.sqs.models.unix_time_millis = _unix_time_millis  # type: ignore[assignment]
    moto.sqs.models.unix_time = _unix_time  # type: ignore[assignment]
    moto.backends.list_of_moto_modules = _list_of_moto_modules  # type: ignore[assignment]
    moto.dynamodb.models.copy = _CopyWithoutTableBackups()  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
