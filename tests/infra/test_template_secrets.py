"""No secret and no patient data in what CloudFormation receives.

The templates end up in the CDK bootstrap bucket, in CloudFormation's console and in change sets;
anything sensitive there is readable far beyond the function. The Lambda's environment is the
usual place something slips in, so its variables must be exactly the configuration the updater
reads, and no string of the template may look like a credential or carry a DICOM value of the
sample data the stages are tested with.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from tests.infra.synthesis import SynthesizedStage
from updater.settings import UpdaterSettings

pytestmark = pytest.mark.infra
CREDENTIAL_PATTERNS = {
    "access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "secret access key": re.compile(r"(?i)aws_secret_access_key|secretaccesskey"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password or token assignment": re.compile(
        r"(?i)\b(password|passwd|api[_-]?key|auth[_-]?token)\b\s*[:=]"
    ),
}
# Variables the runtime itself (Powertools, the SDK) reads besides the updater's own settings.
RUNTIME_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "POWERTOOLS_TRACER_CAPTURE_ERROR",
    "AWS_NODEJS_CONNECTION_REUSE_ENABLED",
}
# Patient and study attributes of the pydicom samples the stages' demo and tests import.
PHI_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "StudyDescription")


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [key, *strings(value)]]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return []


def sample_values() -> set[str]:
    values = set()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        dataset = dcmread(str(get_testdata_file(name)))
        for keyword in PHI_KEYWORDS:
            value = str(dataset.get(keyword, "") or "").strip()
            if len(value) >= 4:  # shorter values ("1", "CT") say nothing about a leak
                values.add(value)
    return values


def test_no_credential_shaped_string_in_the_template(stage: SynthesizedStage) -> None:
    text = stage.template_file.read_text(encoding="utf-8")
    found = [name for name, pattern in CREDENTIAL_PATTERNS.items() if pattern.search(text)]
    assert found == []


def test_no_dicom_value_of_the_sample_data_in_the_template(stage: SynthesizedStage) -> None:
    values = sample_values()
    assert values  # the samples do carry patient data: the check is not vacuous
    leaked = {value for value in values for s in strings(stage.raw) if value in s}
    assert leaked == set()


def test_the_function_environment_is_only_the_updaters_configuration(stage: SynthesizedStage) -> None:
    allowed = {
        field.alias for field in UpdaterSettings.model_fields.values() if field.alias
    } | RUNTIME_VARIABLES
    functions = stage.resources_of_type("AWS::Lambda::Function").values()
    assert functions
    for function in functions:
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert set(variables) <= allowed, set(variables) - allowed
