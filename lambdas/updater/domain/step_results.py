"""What a lane step returns for each request, and the bookkeeping of one delivery's results.

A request ends (`Done`, its outcome recorded) or waits (`Wait(seconds, reason)`): the handler
hides its message that long, which keeps the image set's FIFO group, and so its later requests,
behind it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from updater.domain.lane_message import LaneDelivery
from updater.domain.ledger import LedgerEntry, PendingCall
from updater.domain.outcome import UpdateOutcome
from updater.domain.request import UpdateRequest

# A message waiting for its pacing slot comes back this much early at least (queues are whole
# seconds and not punctual); the remaining moments are slept inline (`PacedTurns.inline_wait_s`).
PACING_EARLY_S = 0.5


class WaitReason(StrEnum):
    PACING = "pacing"  # the account-wide update schedule gave a later slot
    LOCKED = "locked"  # another write on the image set is running
    SETTLING = "settling"  # our call's version has not settled yet
    THROTTLED = "throttled"
    TRANSIENT = "transient"  # a 5xx, a timeout, an unreachable AWS service
    BEHIND = "behind"  # an earlier request of the image set went first in this delivery
    TIME = "time"  # the invocation has too little time left to start


@dataclass(frozen=True)
class Wait:
    seconds: float
    reason: WaitReason
    call_id: str | None = None  # SETTLING: the open call whose settle notice ends the wait early
    # PACING: when the wait ends, on the domain's clock. The message is hidden at the end of its
    # invocation, after the batch's other lanes took their steps: it is hidden until then, not for
    # `seconds` from whenever that is (`visibility_at`).
    until_s: float | None = None
    # SETTLING on a call made in this delivery: the call as it landed, written with the waiters'
    # registration for its notice (`LaneSteps.await_notice`), one ledger write for both.
    landed: PendingCall | None = None

    @property
    def visibility_s(self) -> int:
        """Whole seconds for the queue: a slot is met early (the last moments are slept inline);
        a poll is never made early (an early poll is a wasted read and a wasted receive)."""
        if self.reason in (WaitReason.BEHIND, WaitReason.TIME):
            return 0
        if self.reason is WaitReason.PACING:
            return max(0, math.floor(self.seconds - PACING_EARLY_S))
        return max(1, math.ceil(self.seconds))

    def visibility_at(self, now: float) -> int:
        """`visibility_s` for a message hidden at `now`."""
        if self.until_s is None:
            return self.visibility_s
        return replace(self, seconds=self.until_s - now, until_s=None).visibility_s


@dataclass(frozen=True)
class Done:
    outcome: UpdateOutcome


StepResult = Wait | Done


@dataclass
class Member:
    delivery: LaneDelivery
    entry: LedgerEntry | None
    request: UpdateRequest = field(init=False)
    request_id: str = field(init=False)
    body: str = field(init=False)

    def __post_init__(self) -> None:
        self.request = self.delivery.request
        self.request_id = self.request.request_id
        self.body = self.delivery.body


@dataclass
class Round:
    """This delivery's results, by request id."""

    results: dict[str, StepResult] = field(default_factory=dict)

    def done(self, member: Member, outcome: UpdateOutcome) -> None:
        self.results[member.request_id] = Done(outcome)

    def wait(self, members: Sequence[Member], wait: Wait) -> None:
        for member in members:
            self.results.setdefault(member.request_id, wait)

    def pending(self, members: Sequence[Member]) -> list[Member]:
        return [m for m in members if m.request_id not in self.results]


def first_wait(round_: Round, members: Sequence[Member]) -> Wait:
    for member in members:
        result = round_.results.get(member.request_id)
        if isinstance(result, Wait):
            return result
    return Wait(0, WaitReason.BEHIND)


def settle_wait(results: Iterable[StepResult | None]) -> Wait | None:
    """The wait a group's messages register for their call's settle notice: the SETTLING wait on
    the one call they wait for (the one carrying the landed call, when one does), or None when
    they wait for no call or for more than one."""
    by_call: dict[str, Wait] = {}
    for result in results:
        if isinstance(result, Wait) and result.call_id and (result.call_id not in by_call or result.landed):
            by_call[result.call_id] = result
    return next(iter(by_call.values())) if len(by_call) == 1 else None
