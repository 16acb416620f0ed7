"""The agent against a real Mosquitto started from broker_config/: spool, order, commands."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from agent.report import commands_topic, health_topic, status_topic
from agent.service import Agent
from server.broker import MosquittoBroker
from server.dynsec import DynsecClient
from tests.agent.helpers import RunningAgent, device_config, fixture_collector, provision
from tests.mqtt_broker import close, server_client, started_broker, subscribe


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `check` until it holds or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def seqs_of(messages: list[mqtt.MQTTMessage]) -> list[int]:
    return [json.loads(m.payload)["seq"] for m in messages]


def first_seen(seqs: list[int]) -> list[int]:
    seen: dict[int, None] = {}
    for s in seqs:
        seen.setdefault(s, None)
    return list(seen)


class RecordingNotifier:
    """Keeps the messages the agent was asked to show."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def notify(self, title: str, message: str) -> bool:
        self.shown.append((title, message))
        return True


def make_agent(tmp_path: Path, broker: MosquittoBroker, device_id: str, **kw: object) -> Agent:
    config = device_config(tmp_path / "state", broker, device_id, provision(broker, device_id))
    return Agent(config, fixture_collector(tmp_path / "hw"), **kw)  # type: ignore[arg-type]


@pytest.mark.slow
def test_offline_reports_arrive_in_order_exactly_once(tmp_path: Path, device_id: str) -> None:
    with started_broker() as broker:
        agent = make_agent(tmp_path, broker, device_id)
        # The hub's persistent session exists before the outage, as the server's does.
        session = {"client_id": f"srv-{device_id}", "clean_start": False, "session_expiry": 600}
        sub, _ = server_client(broker, **session)
        subscribe(sub, health_topic(device_id))
        close(sub)
        broker.stop()
        # A laptop offline for ten days at the default interval: 1,000 reports.
        for _ in range(1000):
            agent.collect_once()
        with RunningAgent(agent):
            # The broker is down: the agent keeps trying (with backoff) and loses nothing.
            assert wait_until(lambda: agent.backoff.attempts >= 2, 5)
            assert len(agent.spool) == 1001  # 1000 + the one `run` takes at start
            broker.start()
            sub, got = server_client(broker, **session)
            try:
                assert wait_until(lambda: len(agent.spool) == 0, 30)
                messages = got.wait_for(1001, timeout=5)
                time.sleep(0.3)  # a duplicate would arrive now
                messages = got.wait_for(1002, timeout=0.2)
            finally:
                close(sub)
        assert seqs_of(messages) == list(range(1001))
        assert agent.status.status.sent == 1001


@pytest.mark.slow
def test_broker_restart_mid_stream_loses_nothing(tmp_path: Path, device_id: str) -> None:
    with started_broker() as broker:
        agent = make_agent(tmp_path, broker, device_id)
        session = {"client_id": f"srv-{device_id}", "clean_start": False, "session_expiry": 600}
        sub, got = server_client(broker, **session)
        subscribe(sub, health_topic(device_id))
        try:
            with RunningAgent(agent):
                assert wait_until(lambda: agent.link.connected, 5)
                stop_at = time.monotonic() + 3.0
                restarted = False
                # The server keeps asking for reports while the broker goes down and comes back.
                while time.monotonic() < stop_at:
                    sub.publish(commands_topic(device_id), b'{"type":"report_now"}', qos=1)
                    if not restarted and len(got.messages) >= 15:
                        broker.stop()
                        time.sleep(0.5)
                        broker.start()
                        restarted = True
                    time.sleep(0.03)
                assert restarted
                assert wait_until(lambda: len(agent.spool) == 0 and agent.link.connected, 20)
                produced = agent.sequence.peek()
                # Redeliveries count in `got` too: wait for every number, not a count.
                wait_until(lambda: set(seqs_of(list(got.messages))) >= set(range(produced)), 10)
                messages = list(got.messages)
        finally:
            close(sub)
    seqs = seqs_of(messages)
    assert produced > 20
    assert sorted(set(seqs)) == list(range(produced))  # every report arrived
    assert first_seen(seqs) == list(range(produced))  # in order


def test_commands_are_obeyed(tmp_path: Path, mosquitto: MosquittoBroker, device_id: str) -> None:
    notifier = RecordingNotifier()
    agent = make_agent(tmp_path, mosquitto, device_id, notifier=notifier)
    sub, got = server_client(mosquitto)
    try:
        subscribe(sub, health_topic(device_id))
        subscribe(sub, status_topic(device_id))
        with RunningAgent(agent):
            assert wait_until(lambda: health_topic(device_id) in got.topics(), 5)
            assert wait_until(lambda: b"online" in [m.payload for m in got.messages], 5)
            topic = commands_topic(device_id)
            sub.publish(topic, b"{not json", qos=1)  # ignored, the agent carries on
            sub.publish(topic, b'{"type":"set_interval","interval_s":120}', qos=1)
            assert wait_until(lambda: agent.interval_s == 120, 5)
            before = len([t for t in got.topics() if t.endswith("/health")])
            sub.publish(topic, b'{"type":"report_now"}', qos=1)
            assert wait_until(
                lambda: len([t for t in got.topics() if t.endswith("/health")]) == before + 1, 5
            )
            message = {"type": "notify", "title": "Digibank", "message": "Breng je laptop vrijdag"}
            sub.publish(topic, json.dumps(message).encode(), qos=1)
            assert wait_until(lambda: bool(notifier.shown), 5)
        assert notifier.shown == [("Digibank", "Breng je laptop vrijdag")]
        # The interval survives a restart of the agent.
        again = Agent(agent.config, fixture_collector(tmp_path / "hw2"))
        assert again.interval_s == 120
        # A clean stop leaves `offline` as the retained status.
        assert wait_until(lambda: got.messages[-1].payload == b"offline", 5)
        health = [m for m in got.messages if m.topic.endswith("/health")]
        assert seqs_of(health) == [0, 1]
    finally:
        close(sub)


def test_refused_publish_is_kept_and_not_hammered(
    tmp_path: Path, mosquitto: MosquittoBroker, device_id: str
) -> None:
    agent = make_agent(tmp_path, mosquitto, device_id)
    # The hub withdrew this device's right to publish health (as when a loan is closed).
    with DynsecClient(mosquitto.host, mosquitto.port, mosquitto.admin_credentials) as dynsec:
        dynsec.check(
            [
                {
                    "command": "removeRoleACL",
                    "rolename": f"device-{device_id}",
                    "acltype": "publishClientSend",
                    "topic": health_topic(device_id),
                }
            ]
        )
    with RunningAgent(agent):
        assert wait_until(lambda: agent.status.status.refused == 1, 5)
        time.sleep(1.0)
        assert agent.status.status.refused == 1  # paused, not retrying in a loop
        assert len(agent.spool) == 1  # and the report is still there for later
        assert agent.link.connected


def test_tls_connection_verifies_the_broker(tmp_path: Path, device_id: str) -> None:
    with started_broker(tls=True) as broker:
        agent = make_agent(tmp_path, broker, device_id)
        assert broker.tls_files is not None
        config = agent.config
        from dataclasses import replace

        tls_agent = Agent(
            replace(config, mqtt_tls=True, ca_file=broker.tls_files.cafile),
            fixture_collector(tmp_path / "hw2"),
        )
        sub, got = server_client(broker)
        try:
            subscribe(sub, health_topic(device_id))
            with RunningAgent(tls_agent):
                assert wait_until(lambda: tls_agent.status.status.sent == 1, 10)
            assert len(got.wait_for(1)) == 1
        finally:
            close(sub)
        # Against a CA it does not trust, the agent never connects (and keeps its report).
        untrusted = Agent(
            replace(config, mqtt_tls=True, ca_file=None, state_dir=tmp_path / "other"),
            fixture_collector(tmp_path / "hw3"),
        )
        with RunningAgent(untrusted):
            assert wait_until(lambda: untrusted.backoff.attempts >= 1, 5)
            assert not untrusted.link.connected and len(untrusted.spool) == 1


def test_several_agents_in_one_process(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    ids = [f"multi{i}{threading.get_ident() % 1000}" for i in range(3)]
    agents = [make_agent(tmp_path / i, mosquitto, i) for i in ids]
    hub, _ = server_client(mosquitto)  # the hub listens, as ingest does
    subscribe(hub, "digibank/v1/devices/+/health")
    runners = [RunningAgent(a) for a in agents]
    for r in runners:
        r.__enter__()
    try:
        assert wait_until(lambda: all(a.status.status.sent == 1 for a in agents), 10)
    finally:
        for r in runners:
            r.__exit__(None, None, None)
        close(hub)


def test_revoked_device_keeps_spooling_and_backs_off(
    tmp_path: Path, mosquitto: MosquittoBroker, device_id: str
) -> None:
    agent = make_agent(tmp_path, mosquitto, device_id)
    with DynsecClient(mosquitto.host, mosquitto.port, mosquitto.admin_credentials) as dynsec:
        dynsec.delete_device(device_id)
    with RunningAgent(agent):
        assert wait_until(lambda: agent.backoff.attempts >= 3, 10)
        assert not agent.link.connected
        assert len(agent.spool) == 1 and agent.status.status.sent == 0


def test_report_no_hub_received_is_kept_and_sent_again(tmp_path: Path, device_id: str) -> None:
    # A broker with no subscription for health (as right after a Mosquitto 2.0.11 restart,
    # before ingest resubscribes) acknowledges with "No matching subscribers".
    with started_broker() as broker:
        agent = make_agent(tmp_path, broker, device_id)
        agent.no_subscribers_hold_s = 0.5
        with RunningAgent(agent):
            assert wait_until(lambda: agent.status.status.undelivered >= 1, 10)
            assert len(agent.spool) >= 1  # kept, not dropped
            sub, got = server_client(broker)
            try:
                subscribe(sub, health_topic(device_id))
                msgs = got.wait_for(1, timeout=10)
                assert msgs, "the kept report is sent again once the hub listens"
                assert wait_until(lambda: len(agent.spool) == 0, 10)
            finally:
                close(sub)
