"""paho's MQTT client with three shortcuts for ingest: buffered reads, a direct path for plain
QoS 1 reports, and acknowledgements in bulk.

Draining a backlog, paho spends more on system calls and on objects than on MQTT: it reads
every packet with three or four `recv` calls (the type byte, each length byte, then the
body), builds a Properties object, a message and a message-info object with its own
condition variable for each received report, and sends every acknowledgement as its own
packet, with a wake-up byte for its loop besides. Ingest's time is the GIL's time (its
writer thread needs it too), so these costs decide how fast a backlog drains.

- Reads: `_sock_recv` (the one place paho reads from its socket) takes up to 64 KiB from
  the socket at a time and serves paho's small reads from that buffer. Its loop reads what
  is buffered before it waits on the socket, which would not wake for bytes already read.
- Reports: `_handle_publish` (paho's handler of a received PUBLISH) hands a QoS 1 PUBLISH
  without MQTT 5 properties (what agents send) straight to `on_report(topic, payload, mid)`;
  anything else (QoS 0 or 2, properties, a topic that is not UTF-8, a short packet) goes
  to paho's own handler and `on_message` as before.
- Acknowledgements: `ack_many` queues the PUBACKs of a whole batch as one write through
  paho's own outgoing queue (so they keep their place among paho's other packets). An MQTT
  5 PUBACK with reason Success and no properties is the packet id alone (MQTT 5.0, 3.4.2.1),
  which is what paho's own `ack` sends for QoS 1.

These override or call paho internals (`_sock_recv`, `_loop`, `_handle_publish`,
`_packet_queue`, `_in_packet`, `_sock`); the checks at import stop ingest from starting on
a paho that lacks them rather than misbehaving, and tests/telemetry/test_ingest_client.py
holds the direct path to paho's own decoding and the reads and acks to a real broker.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

_PUBACK = struct.Struct("!BBH")
_READ_SIZE = 65536

for _name in ("_sock_recv", "_loop", "_packet_queue", "_handle_publish"):
    if not callable(getattr(mqtt.Client, _name, None)):  # pragma: no cover - paho changed
        raise ImportError(f"this paho-mqtt has no Client.{_name}: server/ingest_client.py")


class IngestClient(mqtt.Client):
    """A paho `Client` (MQTT 5, manual acknowledgement) with buffered reads and bulk acks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._rsock: object = None
        self.on_report: Callable[[str, bytes | bytearray, int], None] | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rsock is not self._sock:  # a new connection: nothing buffered belongs to it
            self._rbuf, self._rpos, self._rsock = b"", 0, self._sock
        if self._rpos >= len(self._rbuf):
            data = super()._sock_recv(max(bufsize, _READ_SIZE))  # BlockingIOError when dry
            if len(data) <= bufsize:
                return data  # also b"" (connection closed), which paho handles
            self._rbuf, self._rpos = data, 0
        start = self._rpos
        self._rpos = min(start + bufsize, len(self._rbuf))
        return self._rbuf[start : self._rpos]

    def _loop(self, timeout: float = 1.0) -> mqtt.MQTTErrorCode:
        if self.has_buffered():  # bytes already read: select() would not see them
            rc = self.loop_read()
            if rc or self._sock is None:
                return rc
            timeout = 0.0
        return super()._loop(timeout)

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        handler = self.on_report
        header = self._in_packet["command"]
        packet = self._in_packet["packet"]
        if handler is None or header & 0x06 != 0x02 or self._protocol != mqtt.MQTTv5:
            return super()._handle_publish()  # not QoS 1 (or not asked for): paho's way
        # Topic length (2 bytes), topic, packet id (2 bytes), properties length, payload.
        end = 2 + ((packet[0] << 8) | packet[1]) if len(packet) >= 2 else 0
        if end == 0 or len(packet) < end + 3 or packet[end + 2] != 0:
            return super()._handle_publish()  # properties present, or malformed: paho decides
        try:
            topic = packet[2:end].decode()
        except UnicodeDecodeError:
            return super()._handle_publish()
        handler(topic, packet[end + 3 :], (packet[end] << 8) | packet[end + 1])
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def has_buffered(self) -> bool:
        """Whether received bytes wait in the buffer (read them before waiting on the socket)."""
        return self._rsock is self._sock and self._rpos < len(self._rbuf)

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge these QoS 1 messages with one write (what `ack(mid, 1)` does for each)."""
        if mids:
            packet = b"".join([_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids])
            self._packet_queue(mqtt.PUBACK, packet, 0, 0)
