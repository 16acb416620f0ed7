"""Ingest's compiled validator never accepts what the contract's validator refuses.

`server.ingest_classify` takes a fast path (msgspec) for good reports and hands everything
else to `agent.report`'s own validator. These tests alter a real report field by field,
value by value, and check that wherever the fast path gives a verdict, the contract gives the
same one, and that the reasons for drops stay those of the contract.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from agent.report import health_topic
from server.ingest_classify import _fast, classify, classify_by_contract
from tests.telemetry.fleet import report

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 5.0, 1.5, -100, -100.5, 1e15, 1e16, 2**63 - 1, 2**63, 2**64,
    10**30, "", "x", "x" * 32, "x" * 33, "é" * 32, "é" * 33, "x" * 64, "x" * 65, "x" * 201,
    [], {}, [1], ["a"], [{}], "2026-11-27T10:00:00Z", "2026-11-27T10:00:00+02:00",
    "2026-11-27T10:00:00", "2026-11-27T10:00:00.123456Z", "not a time", "12", "1", "01",
]  # fmt: skip


def _base() -> dict[str, Any]:
    data = json.loads(
        report("12", 7, measured_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC)).to_json()
    )
    data["disks"].append(dict(data["disks"][0], kind="ata", reallocated_sectors=3))
    data["errors"] = ["smartctl: not installed"]
    return data


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.append((*prefix, i))
            out += _paths(value, (*prefix, i))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(data)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


_DELETE = object()


def _variants() -> list[bytes]:
    base = _base()
    out = [json.dumps(base).encode()]
    for path in _paths(base):
        for value in [*ODD_VALUES, _DELETE]:
            out.append(json.dumps(_set(base, path, value)).encode())
    # unknown fields at every level
    for path in [(), ("battery",), ("disks", 0), ("memory",), ("temperatures",)]:
        changed = copy.deepcopy(base)
        target = changed
        for key in path:
            target = target[key]
        target["hostname"] = "laptop-of-someone"
        out.append(json.dumps(changed).encode())
    # texts JSON allows in one parser and not the other, or that look alike
    text = json.dumps(base)
    out += [
        text.replace('"seq": 7', '"seq": 7, "seq": 8').encode(),
        text.replace('"seq": 7', '"seq": 7.0').encode(),
        text.replace('"seq": 7', '"seq": 7e0').encode(),
        text.replace('"schema": 1', '"schema": true').encode(),
        text.replace('"schema": 1', '"schema": 1.0').encode(),
        text.replace('"cpu_c": 52.0', '"cpu_c": NaN').encode(),
        text.replace('"cpu_c": 52.0', '"cpu_c": Infinity').encode(),
        text.replace('"os_name": "Debian GNU/Linux"', '"os_name": "\\ud800"').encode(),
        b"\xef\xbb\xbf" + text.encode(),
        text.encode() + b" ",
        text.encode() + b"x",
        text.encode()[:-1],
        b"\xff" + text.encode(),
        text.replace("Debian", "D\xe9bian").encode("latin-1"),
        b"[]",
        b"null",
        b"",
    ]
    # random multi-field damage
    rng = random.Random(20261127)
    paths = _paths(base)
    for _ in range(2000):
        changed = base
        for path in rng.sample(paths, 3):
            with contextlib.suppress(KeyError, IndexError, TypeError):
                changed = _set(changed, path, rng.choice([*ODD_VALUES, _DELETE]))
        out.append(json.dumps(changed).encode())
    return out


def test_the_fast_path_agrees_with_the_contract_on_every_altered_report() -> None:
    variants = _variants()
    assert len(variants) > 2000
    accepted = 0
    for payload in variants:
        fast = _fast("12", payload)
        slow = classify_by_contract("12", payload)
        if fast is not None:
            accepted += 1
            assert fast == slow, payload
    # the fast path does the work for the good reports among them, not only the base one
    assert accepted > 100


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed"),
        (b"[1, 2]", "malformed"),
        (b'{"schema": 2, "seq": 1}', "schema_version"),
        (json.dumps(dict(_base(), seq=-1)).encode(), "invalid"),
        (json.dumps(dict(_base(), seq=2**63)).encode(), "invalid"),
        (json.dumps(dict(_base(), hostname="x")).encode(), "invalid"),
        (json.dumps(dict(_base(), device_id="13")).encode(), "spoofed"),
        (b"x" * (16 * 1024 + 1), "oversized"),
    ],
)
def test_drops_keep_the_contracts_reasons(payload: bytes, reason: str) -> None:
    assert classify(health_topic("12"), payload) == reason


def test_a_good_report_is_valid_with_its_figures() -> None:
    payload = json.dumps(_base()).encode()
    valid = classify(health_topic("12"), payload)
    assert not isinstance(valid, str)
    assert (valid.device_id, valid.seq) == (12, 7)
    assert valid.measured_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert valid.data == _base()
    assert valid.text == payload.decode()
    assert classify("digibank/v1/devices/12/status", payload) == "bad_topic"
    assert classify(health_topic("abc"), payload.replace(b'"12"', b'"abc"')) == "unknown_device"
