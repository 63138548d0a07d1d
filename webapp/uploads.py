"""Files the pages and the API receive as Base64 text (a multipart upload does not get past the CSRF
middleware; see webapp/admin/calendar.py): one decoding, refusing unreadable content with the caller's
Chinese message."""

from __future__ import annotations

import base64
import binascii

from webapp.errors import ApiError


def decoded(content_base64: str, message: str) -> bytes:
    """The file's bytes; 422 `invalid` with `message` if the text is not valid Base64."""
    try:
        return base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid", message) from None
