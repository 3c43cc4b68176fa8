"""Names for downloaded files: a title keeps every character a file name may hold (Chinese
included), loses the ones no file system or browser takes, and never names a path."""

import re
import unicodedata

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
MAX_LENGTH = 120


def download_name(stem: str, extension: str) -> str:
    """`stem` made safe as a file name, with `extension` (".xlsx")."""
    text = unicodedata.normalize("NFC", stem or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" ._")
    return (text[:MAX_LENGTH].rstrip(" ._") or "download") + extension
