"""UpdateTurns: when a request may make its UpdateImageSetMetadata call, under the account-wide pace.

A request that must wait keeps the slot the pacer reserved for it (in its ledger entry) and is
handed back until shortly before that slot; it then waits the last moments in the invocation and
calls on time. A slot far in the past (a delivery that came back very late) is given up and a new
one reserved, so a stale slot cannot make two calls collide.
"""

from __future__ import annotations

from typing import Protocol

from updater.adapters.ledger import Ledger

STALE_AFTER_S = 60.0


class Pacer(Protocol):
    def reserve(self) -> float:
        """Reserve the next slot for one update call; return when it is (epoch seconds)."""
        ...


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class UpdateTurns:
    def __init__(self, pacer: Pacer, ledger: Ledger, clock: Clock) -> None:
        self._pacer = pacer
        self._ledger = ledger
        self._clock = clock

    def wait_for_turn(self, request_id: str, reserved_at_s: float | None, *, inline_wait_s: float) -> float:
        """0.0 once it is this request's turn (after waiting up to `inline_wait_s` here); otherwise the
        seconds until its reserved slot, which it keeps for when it comes back."""
        now = self._clock.now()
        slot = reserved_at_s if reserved_at_s is not None and reserved_at_s > now - STALE_AFTER_S else None
        if slot is None:
            slot = self._pacer.reserve()
        wait = slot - now
        if wait > inline_wait_s:
            if slot != reserved_at_s:
                self._ledger.set_turn(request_id, int(slot * 1000))
            return wait
        self._clock.sleep(max(0.0, wait))
        return 0.0

    def used(self, request_id: str, reserved_at_s: float | None) -> None:
        """After the call (not between slot and call): the slot is spent."""
        if reserved_at_s is not None:
            self._ledger.set_turn(request_id, None)
