"""The server's own MQTT account (ingest and commands): from the settings or from data_dir."""

from __future__ import annotations

import logging

from server.broker_files import BrokerError, credentials_path, load_credentials
from server.core.config import Settings

log = logging.getLogger(__name__)


def server_account(settings: Settings) -> tuple[str, str] | None:
    """(username, password) for the server's broker account, or None when none is known."""
    if settings.mqtt_username:
        return settings.mqtt_username, settings.mqtt_password
    path = credentials_path(settings.data_dir)
    if not path.exists():
        return None
    try:
        account = load_credentials(path).server
    except BrokerError as exc:
        log.warning("no server MQTT account: %s", exc)
        return None
    return account.username, account.password
