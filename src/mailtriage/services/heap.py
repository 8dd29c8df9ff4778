"""Tells the C allocator to hand large buffers straight back to the system once freed.

glibc serves a freed large block's size from the heap from then on (its mmap threshold adapts
upward, up to 32 MB), so a run that reads many mails of a megabyte keeps that memory, and the
fragmented heap grows with the mailbox. A fixed threshold keeps every block of 128 KB or more
in its own mapping, returned on ``free``. Without glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 128 * 1024


def return_large_blocks() -> bool:
    """Fix the allocator's mmap threshold at 128 KB; True when the allocator accepted it."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK))
