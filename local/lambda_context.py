"""The context object Lambda's Python runtime passes to a handler, for local invocations.

Attribute names and types follow the runtime interface client (awslambdaric): `memory_limit_in_mb`
is a string there too, because the runtime reads it from an environment variable.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

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
    # Monotonic, so a wall-clock step cannot stretch or cut the budget.
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
