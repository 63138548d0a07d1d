"""webapp.uploads: the one Base64 decoding of uploaded files, refusing unreadable text with the caller's message."""

from __future__ import annotations

import pytest

from webapp.errors import ApiError
from webapp.uploads import decoded


def test_valid_base64_gives_the_file_bytes() -> None:
    assert decoded("5ZCN5Y2V", "名单文件：内容无法读取") == "名单".encode()


def test_invalid_base64_is_refused_with_the_callers_message() -> None:
    with pytest.raises(ApiError) as refused:
        decoded("不是base64!", "名单文件：内容无法读取，请重新选择文件")
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        422,
        "invalid",
        "名单文件：内容无法读取，请重新选择文件",
    )
