"""The agent's MQTT 5 connection: one paho client per device, driven from the agent's loop.

paho's network loop is called from the agent's own thread (`loop()`), so every callback runs
there and nothing needs a lock; reconnecting is the agent's job (with jittered backoff), not
paho's. QoS 1 messages paho has not had a PUBACK for stay in its session and are sent again
after a reconnect.
"""

from __future__ import annotations

import enum
import logging
import ssl
import time
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from agent.config import AgentConfig
from agent.report import commands_topic, status_topic

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 20.0
MAX_INFLIGHT = 20


class LinkState(enum.Enum):
    """Where the connection stands."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


class LinkEvents(Protocol):
    """What the agent hears from its connection."""

    def on_connected(self) -> None:
        """The broker accepted the connection."""
        ...

    def on_disconnected(self, reason: str) -> None:
        """The connection failed or was lost."""
        ...

    def on_acked(self, mid: int, reason_code: int, reason: str) -> None:
        """The broker answered a QoS 1 publish (reason code >= 128: refused)."""
        ...

    def on_command(self, payload: bytes) -> None:
        """A message arrived on this device's commands topic."""
        ...


class MqttLink:
    """One device's MQTT 5 session: Last Will, online status, command subscription."""

    def __init__(self, config: AgentConfig, events: LinkEvents) -> None:
        if not config.enrolled or config.device_id is None:
            raise ValueError("MqttLink needs an enrolled configuration")
        self.config = config
        self.device_id = config.device_id
        self.events = events
        self.state = LinkState.DISCONNECTED
        self._connecting_since = 0.0
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=config.device_id,
            protocol=mqtt.MQTTv5,
        )
        client.username_pw_set(config.username, config.password)
        if config.mqtt_tls:
            client.tls_set(
                ca_certs=str(config.ca_file) if config.ca_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        client.will_set(status_topic(config.device_id), b"offline", qos=1, retain=True)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.connect_timeout = CONNECT_TIMEOUT_S / 2
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self.client = client

    @property
    def connected(self) -> bool:
        """True while the broker has accepted this session."""
        return self.state is LinkState.CONNECTED

    def start_connect(self) -> bool:
        """Open the TCP/TLS connection and send CONNECT; False when that fails at once."""
        props = Properties(PacketTypes.CONNECT)
        # A persistent session: commands sent while the laptop sleeps wait at the broker.
        props.SessionExpiryInterval = self.config.session_expiry_s
        try:
            self.client.connect(
                self.config.mqtt_host,
                self.config.mqtt_port,
                keepalive=self.config.keepalive_s,
                clean_start=False,
                properties=props,
            )
        except (OSError, ValueError) as exc:  # refused, unreachable, DNS, TLS (SSLError)
            log.info("cannot reach broker %s:%d: %s", *self._where(), exc)
            self.state = LinkState.DISCONNECTED
            return False
        self.state = LinkState.CONNECTING
        self._connecting_since = time.monotonic()
        return True

    def _where(self) -> tuple[str, int]:
        return self.config.mqtt_host, self.config.mqtt_port

    def loop(self, timeout: float) -> None:
        """Run paho's network loop for up to `timeout` seconds (callbacks fire here)."""
        if self.state is LinkState.DISCONNECTED:
            return
        if self.state is LinkState.CONNECTING and (
            time.monotonic() - self._connecting_since > CONNECT_TIMEOUT_S
        ):
            self._lost("no CONNACK in time")
            return
        rc = self.client.loop(timeout)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS and self.state is not LinkState.DISCONNECTED:
            self._lost(mqtt.error_string(rc))

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """Queue a QoS 1 publish; returns its message id (answered via `on_acked`)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        return info.mid

    def close(self, timeout: float = 3.0) -> None:
        """Say `offline` (retained) and disconnect cleanly, waiting briefly for the broker."""
        if self.state is LinkState.CONNECTED:
            info = self.client.publish(status_topic(self.device_id), b"offline", qos=1, retain=True)
            deadline = time.monotonic() + timeout
            while not info.is_published() and time.monotonic() < deadline:
                if self.client.loop(0.1) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            self.client.disconnect()
            self.client.loop(0.1)
        else:
            self.client.disconnect()
        self.state = LinkState.DISCONNECTED

    def _lost(self, reason: str) -> None:
        self.client.disconnect()  # closes the socket; the session's messages stay in paho
        if self.state is not LinkState.DISCONNECTED:
            self.state = LinkState.DISCONNECTED
            self.events.on_disconnected(reason)

    # --- paho callbacks (run inside `loop`) ---------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            self._lost(f"refused: {reason}")
            return
        self.state = LinkState.CONNECTED
        log.info("connected to %s:%d", *self._where())
        client.publish(status_topic(self.device_id), b"online", qos=1, retain=True)
        client.subscribe(commands_topic(self.device_id), qos=1)
        self.events.on_connected()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if self.state is not LinkState.DISCONNECTED:
            self.state = LinkState.DISCONNECTED
            self.events.on_disconnected(str(reason))

    def _on_publish(
        self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _props: Any
    ) -> None:
        self.events.on_acked(mid, reason.value, str(reason))

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == commands_topic(self.device_id):
            self.events.on_command(bytes(message.payload))
