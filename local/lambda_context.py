"""The context object Lambda's Python runtime passes to a handler, for local invocations.

Attribute names and types follow the runtime interface client (awslambdaric): `memory_limit_in_mb`
is a string there too, because the runtime reads it from an environment variable.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_REGION


@dataclass
class LocalLambdaContext:
    function_name: str
    memory_limit_in_mb: str
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    client_context: None = None
    identity: None = None
    tenant_id: None = None
    # Monotonic (one clock for every process of the machine), so a wall-clock step cannot stretch
    # or cut the budget, and an execution environment counts down to the same deadline.
    started_at: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    @property
    def deadline(self) -> float:
        return self.started_at + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def restart_clock(self) -> None:
        """The timeout counts from here: Lambda starts it when the invoke phase begins, after an
        execution environment's init (cold start)."""
        self.started_at = time.monotonic()

    def description(self) -> dict[str, Any]:
        """What an execution environment needs to build the same context (JSON)."""
        return {
            "function_name": self.function_name,
            "memory_limit_in_mb": self.memory_limit_in_mb,
            "timeout_s": self.timeout_s,
            "aws_request_id": self.aws_request_id,
            "function_version": self.function_version,
            "started_at": self.started_at,
        }

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> LocalLambdaContext:
        return cls(**description)
