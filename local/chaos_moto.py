"""One receiver at a time per queue in moto's SQS, as real SQS behaves.

moto's `receive_message` walks a queue's messages and marks them received without a lock, and its
server answers requests on many threads. Concurrent pollers (the soak runs several per queue) can
then receive the same visible message together: each delivery adds to its receive count, so a
message reaches the redrive policy's maxReceiveCount after far fewer real deliveries and lands in
the DLQ without ever being processed (with "list.remove(x): x not in list" 500s now and then). Real
SQS hands a message to one receiver per visibility window, and the soak must measure the updater,
not this race.

moto runs in its own process: `MotoServer(patches=["local.chaos_moto"])` has that process call
`install()` before it serves.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from moto.sqs.models import SQSBackend


def install() -> None:
    original = SQSBackend.receive_message
    if getattr(original, "one_receiver_per_queue", False):
        return
    locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
    guard = threading.Lock()

    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with guard:
            lock = locks[queue_name]
        with lock:  # a long poll on an empty queue holds it: the others would wait on the same queue
            return original(self, queue_name, *args, **kwargs)

    receive_message.one_receiver_per_queue = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
