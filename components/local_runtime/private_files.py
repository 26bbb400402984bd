"""Files only their owner may read (a Connect worker's secrets file): written 0600 from the first byte, atomically.

`write_private` never lets the text exist under another mode, not even for a moment: it
writes a temporary file created 0600 (`O_CREAT | O_EXCL`, then `fchmod`, which also undoes a
umask that would leave less than 0600) in the target's folder, syncs it, and renames it over
the target. A target that existed with another mode (an older 0644 file) is replaced, never
reused. Its folder is created 0700 and narrowed to 0700 if it was wider.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(folder: Path) -> None:
    """Create `folder` (and its parents) if missing; the folder itself ends up 0700."""
    folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(folder, PRIVATE_DIR)


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8), readable and writable by its owner only."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            fd = -1  # the file object owns it now
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def remove_private(path: Path) -> None:
    """Delete `path` and any temporary file `write_private` left beside it (a crash mid-write); missing is fine."""
    path.unlink(missing_ok=True)
    if path.parent.is_dir():
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            tmp.unlink(missing_ok=True)
