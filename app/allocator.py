"""glibc malloc settings for a worker whose answers are large byte strings.

glibc serves an allocation above its mmap threshold (128 KiB to start with) with a fresh
mmap and unmaps it on free, and gives the top of its heap back to the kernel past a trim
threshold. A page of events is one body of a few hundred KiB to a few MiB, copied a few times
on its way out (the driver's buffer, the bytes, the socket write): each copy was mapped,
faulted in page by page, zeroed and unmapped again, on every request. Measured with
`strace -c` on a worker serving the bench's small pages: four mmap/munmap pairs per request,
and 0.57 ms of system CPU per answer against 0.27 ms with the thresholds below.
"""

import ctypes
import logging

log = logging.getLogger("frontline.allocator")

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 8 * 1024 * 1024  # bodies up to this size come from the heap
TRIM_THRESHOLD = 64 * 1024 * 1024  # free heap kept for the next answers before trimming


def keep_large_buffers() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where the C library
    is not glibc (nothing changes then)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    done: bool = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    done = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and done
    if not done:
        log.info("mallopt refused the thresholds; the allocator keeps its defaults")
    return done
