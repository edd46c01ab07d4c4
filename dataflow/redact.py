"""What an operator may see of a rejected payload: its start, bounded, with anything that could carry face
or image evidence replaced.

A dead letter is by definition input the contract did not accept, so nothing about its content is
guaranteed: a misconfigured gateway can send face keypoints, an image crop as base64, or a whole late
batch. Operators need enough to see *why* it was rejected (the reason and source say most of it); the raw
text is cut to `RAW_LIMIT` characters after redaction.
"""

from __future__ import annotations

import re
from typing import Final

RAW_LIMIT: Final = 2048
FACE_POINTS: Final = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
# A JSON value (object, array, number or string) under a face keypoint's key, non-greedy up to its end.
_FACE_VALUE: Final = re.compile(
    r'("(?:' + "|".join(FACE_POINTS) + r')"\s*:\s*)(\{[^{}]*\}|\[[^\[\]]*\]|"[^"]*"|[-0-9.eE+]+)'
)
# Long runs of base64 / hex / data-URL characters: image bytes, embeddings, tokens.
_BLOB: Final = re.compile(r"[A-Za-z0-9+/=_-]{64,}")


def redact(raw: str, limit: int = RAW_LIMIT) -> str:
    """The payload with face keypoint values and long blobs replaced, cut to `limit` characters."""
    text = _FACE_VALUE.sub(r'\1"<redacted>"', raw)
    text = _BLOB.sub(lambda m: f"<redacted {len(m.group(0))} chars>", text)
    if len(text) > limit:
        return f"{text[:limit]}<cut: {len(raw)} chars in all>"
    return text
