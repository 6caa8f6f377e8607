"""One receiver at a time per queue in moto's SQS, as real SQS behaves.

moto's `receive_message` walks a queue's messages and marks them received without a lock, and its
server answers requests on many threads. Concurrent pollers (every event source mapping runs
several) can then receive the same visible message together: each delivery adds to its receive
count, so a message reaches the redrive policy's maxReceiveCount after far fewer real deliveries
(with "list.remove(x): x not in list" 500s now and then). On a FIFO queue it is worse: each receive
checks which message groups are in flight from a snapshot taken before it starts, so two receives
at once can each take messages of one group, and a later message of an image set is worked on
while an earlier one still is (seen on the lane). Real SQS hands a message to one receiver per
visibility window and a group to one receiver at a time.

A second FIFO flaw: a message that was received and then hidden again (ChangeMessageVisibility,
the lane's waits) stays in moto's "pending" set until a receive finds it visible. When several
messages of one group come back together, the receive walks them in order, drops each from the
pending set as it meets it and recomputes the pending groups: the group counts as in flight until
the *last* of them is reached, which is then delivered first (seen: a group's fourth request
worked on before its second and third). Here a message counts as in flight only while it is
invisible, as in SQS, and messages visible again leave the pending set before the walk begins.

A third: a long poll waiting on an empty queue is woken when a message is sent, not when one
becomes visible again through ChangeMessageVisibility (a settle notice waking a lane message), so
it waited out its whole wait first; a visibility set to 0 wakes the queue's receivers here too.

moto runs in its own process; `local.moto_stack.DEFAULT_PATCHES` has that process call `install()`
before it serves.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from moto.sqs.models import Queue, SQSBackend


def _in_flight_groups(queue: Queue) -> set[str]:
    return {m.group_id for m in queue.pending_messages if m.group_id is not None and not m.visible}


def install() -> None:
    original = SQSBackend.receive_message
    if getattr(original, "one_receiver_per_queue", False):
        return
    Queue.pending_message_groups = property(_in_flight_groups)  # type: ignore[method-assign,assignment]
    locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
    guard = threading.Lock()

    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with guard:
            lock = locks[queue_name]
        with lock:  # a long poll on an empty queue holds it: the others would wait on the same queue
            queue = self.get_queue(queue_name)
            for message in [m for m in queue.pending_messages if m.visible]:
                queue.pending_messages.discard(message)
            return original(self, queue_name, *args, **kwargs)

    receive_message.one_receiver_per_queue = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
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
