"""Let a counting process keep the memory it frees, so that large arrays do not fault their pages in again.

Counting reads and assigns points in pieces of about a million: every piece allocates
and frees arrays of megabytes (Parquet pages, coordinates, labels). By default glibc
hands each such block back to the system (``mmap``/``munmap``, or trimming the heap), and
the next piece faults every page in again -- on a virtual machine that costs as much as
the counting itself, and the faults of two threads serialise. :func:`keep_freed_memory`
raises glibc's thresholds once for the process (a command-line entry point calls it;
library functions never change the process on their own). Measured on 10 million
points: reading 2 times and counting 1.6 times less processor time, and two threads
then count nearly twice as fast as one. Elsewhere (macOS, musl) it does nothing.
"""

from __future__ import annotations

import sys

__all__ = ["keep_freed_memory"]


#: glibc ``mallopt`` parameters (``malloc.h``).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory(
    *, mmap_threshold: int = 32 << 20, trim_threshold: int = 256 << 20, top_pad: int = 64 << 20
) -> bool:
    """Ask glibc to serve blocks below ``mmap_threshold`` from the heap and keep up to ``trim_threshold`` free.

    The process then holds on to at most about ``trim_threshold + top_pad`` bytes it has
    freed (320 MiB by default). Returns whether the setting was applied (glibc on Linux).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = [
        mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)),
        mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)),
        mallopt(_M_TOP_PAD, int(top_pad)),
    ]
    return all(r == 1 for r in done)
