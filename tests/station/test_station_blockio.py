"""The in-place zero check used by every verification: one stray byte anywhere is found."""

from __future__ import annotations

import ctypes
import mmap

import pytest

from station.blockio import _ZeroCheck
from station.units import human_bytes, human_eta

SIZE = 1 << 20


@pytest.mark.parametrize("pos", [0, 1, 63, 64, 65, 4095, 4096, SIZE // 2, SIZE - 1])
def test_a_single_non_zero_byte_anywhere_is_found(pos):
    check = _ZeroCheck(SIZE)
    buf = mmap.mmap(-1, SIZE)
    ref = ctypes.c_char.from_buffer(buf)
    try:
        address = ctypes.addressof(ref)
        assert check.is_zero(address, SIZE)
        buf[pos] = 0x01
        assert not check.is_zero(address, SIZE)
        assert check.is_zero(address, pos)  # everything before it is still zero
    finally:
        del ref
        buf.close()
        check.close()


def test_units():
    assert human_bytes(512) == "512 B" and human_bytes(2_147_483_648) == "2.1 GB"
    assert human_eta(None) == "?" and human_eta(75) == "1:15" and human_eta(3725) == "1:02:05"
