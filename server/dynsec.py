"""A small client for Mosquitto's dynamic security plugin: device accounts at run time.

Commands go as JSON to `$CONTROL/dynamic-security/v1`, answers come back on
`.../response`. Mosquitto 2.0.11 does not substitute `%u` in dynsec ACLs, so each
device gets its own role naming its own topics.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.report import commands_topic, health_topic, status_topic
from server.broker_files import BrokerAccount, BrokerError

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
NOT_FOUND = ("Client not found", "Role not found")


class DynsecError(BrokerError):
    """The broker refused a dynamic-security command, or did not answer."""


@dataclass(frozen=True)
class DeviceAccount:
    """The MQTT identity of one device: username, bound client id and role."""

    device_id: str
    username: str
    client_id: str
    role: str


def device_account(device_id: str) -> DeviceAccount:
    """The account names for a device id (the client id is the id itself, as the agent uses)."""
    health_topic(device_id)  # validates the id: it becomes part of topics and names
    return DeviceAccount(
        device_id=device_id,
        username=f"device-{device_id}",
        client_id=device_id,
        role=f"device-{device_id}",
    )


def device_acls(device_id: str) -> list[dict[str, Any]]:
    """The ACLs of a device's role: its own health/status out, its own commands in."""
    own_commands = commands_topic(device_id)
    return [
        {"acltype": "publishClientSend", "topic": health_topic(device_id), "allow": True},
        {"acltype": "publishClientSend", "topic": status_topic(device_id), "allow": True},
        {"acltype": "subscribePattern", "topic": own_commands, "allow": True},
        {"acltype": "publishClientReceive", "topic": own_commands, "allow": True},
    ]


class DynsecClient:
    """Sends dynsec commands with the admin account; use as a context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        admin: BrokerAccount,
        *,
        ca_pem: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"digibank-dynsec-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv5,
        )
        self._client.username_pw_set(admin.username, admin.password)
        if ca_pem:
            self._client.tls_set_context(ssl.create_default_context(cadata=ca_pem))
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._answers: dict[str, list[dict[str, Any]]] = {}
        self._connected: Any = None
        self._subscribed = False
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # --- connection -------------------------------------------------------------------

    def __enter__(self) -> DynsecClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connect as admin and subscribe to the answers; DynsecError if refused or silent."""
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise DynsecError(f"broker {self.host}:{self.port} unreachable: {exc}") from None
        self._client.loop_start()
        with self._cond:
            ok = self._cond.wait_for(lambda: self._connected is not None, self.timeout)
            if not ok or self._connected.is_failure:
                self.close()
                raise DynsecError(
                    f"admin login to {self.host}:{self.port} failed: "
                    f"{self._connected if ok else 'no answer'}"
                )
        self._client.subscribe(RESPONSE_TOPIC, qos=1)
        with self._cond:
            if not self._cond.wait_for(lambda: self._subscribed, self.timeout):
                self.close()
                raise DynsecError("no answer to the subscription of the dynsec response topic")

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._cond:
            self._connected = reason
            self._cond.notify_all()

    def _on_subscribe(self, _c: Any, _u: Any, _m: Any, codes: list[Any], _p: Any) -> None:
        with self._cond:
            self._subscribed = not any(c.is_failure for c in codes)
            self._cond.notify_all()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            responses = json.loads(msg.payload)["responses"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable dynsec response: %r", msg.payload[:200])
            return
        with self._cond:
            for resp in responses:
                tag = resp.get("correlationData")
                if isinstance(tag, str):
                    self._answers.setdefault(tag.split(":")[0], []).append(resp)
            self._cond.notify_all()

    # --- commands -----------------------------------------------------------------------

    def run(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send commands in one message (the broker runs them in order); their responses."""
        batch = uuid.uuid4().hex
        tagged = [{**cmd, "correlationData": f"{batch}:{i}"} for i, cmd in enumerate(commands)]
        info = self._client.publish(CONTROL_TOPIC, json.dumps({"commands": tagged}), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise DynsecError(f"could not send dynsec command: {mqtt.error_string(info.rc)}")
        with self._cond:
            done = self._cond.wait_for(
                lambda: len(self._answers.get(batch, [])) >= len(commands), self.timeout
            )
            answers = self._answers.pop(batch, [])
        if not done:
            raise DynsecError(f"broker did not answer {[c['command'] for c in commands]}")
        return sorted(answers, key=lambda r: int(str(r["correlationData"]).split(":")[1]))

    def check(self, commands: list[dict[str, Any]], tolerate: tuple[str, ...] = ()) -> None:
        """Run commands; DynsecError on the first error not listed in `tolerate`."""
        for resp in self.run(commands):
            error = resp.get("error")
            if error and error not in tolerate:
                raise DynsecError(f"{resp.get('command')}: {error}")

    def provision_device(self, device_id: str, password: str) -> DeviceAccount:
        """(Re)create a device's role and client; an earlier account of it is replaced."""
        acct = device_account(device_id)
        self.check(
            [
                {"command": "deleteClient", "username": acct.username},
                {"command": "deleteRole", "rolename": acct.role},
            ],
            tolerate=NOT_FOUND,
        )
        self.check(
            [
                {"command": "createRole", "rolename": acct.role, "acls": device_acls(device_id)},
                {
                    "command": "createClient",
                    "username": acct.username,
                    "password": password,
                    "clientid": acct.client_id,
                    "textname": f"digibank device {device_id}",
                    "roles": [{"rolename": acct.role}],
                },
            ]
        )
        log.info("broker account %s created for device %s", acct.username, device_id)
        return acct

    def delete_device(self, device_id: str) -> None:
        """Delete a device's client (disconnecting it at once) and its role; missing is fine."""
        acct = device_account(device_id)
        self.check(
            [
                {"command": "deleteClient", "username": acct.username},
                {"command": "deleteRole", "rolename": acct.role},
            ],
            tolerate=NOT_FOUND,
        )
        log.info("broker account %s deleted", acct.username)

    def disable_device(self, device_id: str) -> None:
        """Refuse a device's logins (and drop its connection) but keep the account."""
        self.check([{"command": "disableClient", "username": device_account(device_id).username}])

    def enable_device(self, device_id: str) -> None:
        """Accept a disabled device's logins again."""
        self.check([{"command": "enableClient", "username": device_account(device_id).username}])

    def device_exists(self, device_id: str) -> bool:
        """Whether the broker knows the device's account."""
        username = device_account(device_id).username
        resp = self.run([{"command": "getClient", "username": username}])[0]
        return not resp.get("error")
