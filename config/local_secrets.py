"""Secrets a development set-up makes for itself: random on first use, kept in the local
data folder, never in the code. A production set-up gives its own in the environment."""

import os
import secrets
from pathlib import Path


def local_secret(path: Path, *, nbytes: int = 48) -> str:
    """The secret kept at `path`, made (readable by its owner only) if it is not there yet.
    Two processes starting at once agree: the file is created exclusively, and the one that
    loses the race reads what the other wrote."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _attempt in range(50):
            value = path.read_text(encoding="ascii").strip()
            if value:
                return value
            # The other process has created the file but not yet written it.
            import time

            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty: delete it and start again.") from None
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value
