"""The worker's malloc thresholds: page-sized bodies come from the heap, not fresh mmaps.

(Whether a larger body is mapped depends on what the heap already holds free, so only the
threshold's promise is tested.)
"""

import ctypes
import platform

import pytest

from app import allocator

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]  # fmt: skip


def mapped_chunks() -> int:
    """How many allocations glibc currently serves with their own mmap (mallinfo2().hblks)."""
    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = MallInfo2
    return int(mallinfo2().hblks)


@glibc_only
def test_a_body_below_the_threshold_comes_from_the_heap() -> None:
    assert allocator.keep_large_buffers()
    before = mapped_chunks()
    body = bytearray(allocator.MMAP_THRESHOLD // 2)
    assert mapped_chunks() == before
    del body
