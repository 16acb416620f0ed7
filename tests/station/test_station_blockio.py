"""The read scan behind every verification: one stray byte anywhere is found, in order."""

from __future__ import annotations

import ctypes
import mmap
import os
import threading

import pytest

from station.blockio import Meter, Progress, _ZeroCheck, read_scan
from station.hw.blockdev import read_block_device
from station.reasons import reason
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


@pytest.mark.root
def test_read_scan_reports_every_non_zero_region_in_order_with_chunks_in_flight(make_loop):
    chunk = 1 << 20
    path = make_loop(8, fill=b"\0")
    # Stray bytes in consecutive chunks (both read slots), across a chunk boundary, at the end.
    stray = [(chunk - 2, 4), (2 * chunk + 10, 1), (3 * chunk + 7, 3), ((8 << 20) - 1, 1)]
    with open(read_block_device(path).backing_file, "r+b") as fh:
        for offset, length in stray:
            fh.seek(offset)
            fh.write(b"\x01" * length)
    reports: list[Progress] = []
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        meter = Meter("verify", 8 << 20, reports.append, interval_s=0)
        res = read_scan(fd, 8 << 20, meter, threading.Event(), lambda: True, True, chunk, 2)
    finally:
        os.close(fd)
    assert res.bytes_done == 8 << 20
    # A region runs from the first stray byte of a chunk to that chunk's end.
    assert {(r.kind, r.why) for r in res.bad_regions} == {("not zero", reason("region_not_zero"))}
    assert [(r.offset, r.length) for r in res.bad_regions] == [
        (chunk - 2, 2 + chunk),  # chunk 0's tail and chunk 1 (its first byte is stray), merged
        (2 * chunk + 10, chunk - 10),
        (3 * chunk + 7, chunk - 7),
        ((8 << 20) - 1, 1),
    ]
    assert [p.done_bytes for p in reports] == [n * chunk for n in range(1, 9)]


def test_units():
    assert human_bytes(512) == "512 B" and human_bytes(2_147_483_648) == "2.1 GB"
    assert human_eta(None) == "?" and human_eta(75) == "1:15" and human_eta(3725) == "1:02:05"
