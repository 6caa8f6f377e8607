"""boto3 clients for local endpoints (the emulator, moto's server), with dummy credentials.

HealthImaging's image-set operations carry the endpoint host prefix `runtime-`, which botocore
would prepend to `127.0.0.1`; `inject_host_prefix=False` is the supported way to switch it off.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Local endpoints accept any signature; real credentials must never reach them.
_DUMMY_KEY_ID = "testing"
_DUMMY_SECRET = "testing"  # noqa: S105 - not a secret


def local_aws_client(service_name: str, endpoint_url: str, region: str = "us-east-1", **config: Any) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=_DUMMY_KEY_ID, aws_secret_access_key=_DUMMY_SECRET, region_name=region
    )
    settings = Config(retries={"mode": "standard"}).merge(Config(**config))
    return session.client(service_name, endpoint_url=endpoint_url, config=settings)  # type: ignore[call-overload]


def medical_imaging_client(endpoint_url: str, region: str = "us-east-1") -> Any:
    return local_aws_client("medical-imaging", endpoint_url, region, inject_host_prefix=False)
