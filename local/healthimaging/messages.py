"""Messages the service stores on versions and jobs (`message` members of shape `Message`).

The model's pattern is `[\\w -:`]+` (Java regex: ASCII word characters, the range space to colon,
and the backtick), 1 to 2048 characters: no `;`, no `^`, no quotes other than `'`. botocore does not
check output patterns, so a consumer validating against the model would be the first to notice.
"""

from __future__ import annotations

import re

MESSAGE_MAX_LENGTH = 2048
_OUTSIDE_PATTERN = re.compile(r"[^A-Za-z0-9_ -:`]")


def model_message(text: str) -> str:
    """`text` with every character the pattern forbids turned into a space, within the length limit."""
    fitted = _OUTSIDE_PATTERN.sub(" ", text).strip()[:MESSAGE_MAX_LENGTH]
    return fitted or "Failed"
