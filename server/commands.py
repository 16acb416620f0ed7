"""Commands to one agent (change interval, report now, notify the borrower), sent with the
server's MQTT account on the device's commands topic, QoS 1, waiting for the broker's ack."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import date
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.report import Command, commands_topic
from server.core.config import Settings
from server.errors import DigibankError
from server.mqtt_account import server_account

log = logging.getLogger(__name__)


class CommandError(DigibankError):
    """The broker could not be reached or refused the command (503)."""

    status_code = 503


def publish_command(
    settings: Settings, device_id: int | str, command: Command, timeout: float = 10.0
) -> None:
    """Publish `command` to one device and wait for the broker's PUBACK; CommandError if not."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"digibank-cmd-{uuid.uuid4().hex[:12]}",
        protocol=mqtt.MQTTv5,
    )
    account = server_account(settings)
    if account is not None:
        client.username_pw_set(*account)
    connected, acked = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        outcome["connect"] = reason
        connected.set()

    def on_publish(_c: Any, _u: Any, _mid: int, reason: Any, _p: Any) -> None:
        outcome["publish"] = reason
        acked.set()

    client.on_connect = on_connect
    client.on_publish = on_publish
    topic = commands_topic(str(device_id))
    try:
        client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=30)
    except OSError as exc:
        raise CommandError(f"broker {settings.mqtt_host}:{settings.mqtt_port}: {exc}") from None
    client.loop_start()
    try:
        if not connected.wait(timeout) or outcome["connect"].is_failure:
            raise CommandError(
                f"broker refused or ignored the connection: {outcome.get('connect')}"
            )
        client.publish(topic, command.to_json(), qos=1)
        if not acked.wait(timeout):
            raise CommandError(f"broker did not acknowledge the command within {timeout:.0f}s")
        if outcome["publish"].is_failure:
            raise CommandError(f"broker refused the command: {outcome['publish']}")
    finally:
        client.disconnect()
        client.loop_stop()
    log.info("command %s sent to device %s", command.type, device_id)


def reminder_command(due_date: date, location: str, language: str) -> Command:
    """The borrower-facing return reminder (a desktop notification on the laptop)."""
    day = due_date.strftime("%d/%m/%Y")
    if language == "nl":
        return Command(
            type="notify",
            title="Digibank: je uitlening loopt af",
            message=f"Je uitlening loopt af op {day}. Breng de laptop terug naar {location}.",
        )
    return Command(
        type="notify",
        title="Digibank: your loan ends soon",
        message=f"Your loan ends on {day}. Please bring the laptop back to {location}.",
    )
