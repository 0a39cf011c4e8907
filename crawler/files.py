"""Files a crawl leaves behind are complete or absent: written aside, then renamed into place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def partial_path(dest: Path) -> Path:
    """Where the bytes of ``dest`` are written until they are complete."""
    return dest.with_name(dest.name + ".partial")


@contextmanager
def atomic_output(dest: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces ``dest`` only when the ``with`` block ends without error.

    The bytes go to ``<dest>.partial`` first, are flushed to disk, and the file is then renamed
    over ``dest`` (an atomic step on POSIX file systems). Any exception, ``KeyboardInterrupt``
    included, removes the partial file and leaves ``dest`` as it was, so a reader never sees a
    truncated file.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(dest)
    try:
        with partial.open("wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        partial.replace(dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
