"""One receiver at a time per queue in moto's SQS, as real SQS behaves.

moto's `receive_message` walks a queue's messages and marks them received without a lock, and its
server answers requests on many threads. Concurrent pollers (every event source mapping runs
several) can then receive the same visible message together: each delivery adds to its receive
count, so a message reaches the redrive policy's maxReceiveCount after far fewer real deliveries
(with "list.remove(x): x not in list" 500s now and then). On a FIFO queue it is worse: two receives
at once can each take messages of one group, and a later message of an image set is worked on
while an earlier one still is (seen on the lane). Real SQS hands a message to one receiver per
visibility window and a group to one receiver at a time.

Here one walk at a time takes a queue's messages; a long poll that found nothing waits outside the
lock (held while waiting, it kept the queue's other pollers waiting out the whole poll, long
enough for their batches' visibility windows to end). FIFO queues are walked by
`local.moto_sqs_fifo.receive` (SQS's group order), which also makes receipt handles expire and
deduplication ids last five minutes.

A long poll is woken when a message is sent and when a visibility is set to 0 (a settle notice
waking a lane message); moto wakes it only for sends, so it waited out its whole wait first.
Messages whose visibility window ends notify nobody: a waiting poll looks again every
`LONG_POLL_RECHECK_S`.

moto runs in its own process; `local.moto_stack.DEFAULT_PATCHES` has that process call `install()`
before it serves.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from moto.sqs.models import SQSBackend

from local import moto_sqs_fifo

LONG_POLL_RECHECK_S = 0.1


def install() -> None:
    original = SQSBackend.receive_message
    if getattr(original, "one_receiver_per_queue", False):
        return
    locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
    guard = threading.Lock()

    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        attribute_names: list[str] | None = None,
    ) -> Any:
        with guard:
            lock = locks[queue_name]
        queue = self.get_queue(queue_name)
        polling_ends = time.monotonic() + int(wait_seconds_timeout or 0)
        while True:
            with lock:
                if queue.fifo_queue:
                    received = moto_sqs_fifo.receive(queue, count, visibility_timeout, attribute_names)
                else:
                    received = original(self, queue_name, count, 0, visibility_timeout, attribute_names)
            left = polling_ends - time.monotonic()
            if received or left <= 0:
                return received
            with queue._messages_lock:  # notified by a send, and by a visibility set to 0 (below)
                queue._messages_lock.wait(timeout=min(LONG_POLL_RECHECK_S, left))

    receive_message.one_receiver_per_queue = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    moto_sqs_fifo.install()
    change_visibility = SQSBackend.change_message_visibility

    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        change_visibility(self, queue_name, receipt_handle, visibility_timeout)
        if int(visibility_timeout) == 0:
            condition = self.get_queue(queue_name)._messages_lock
            with condition:
                condition.notify_all()

    SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
