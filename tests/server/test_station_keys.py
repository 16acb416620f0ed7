"""Station keys: a station publishes its signing key; anyone can fetch it to verify offline."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from fastapi.testclient import TestClient

from station import keys


def _pem(public: object) -> str:
    return public.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_publish_then_anyone_reads_it(app_client: TestClient, station: dict[str, str]) -> None:
    public = Ed25519PrivateKey.generate().public_key()
    body = {"public_key_pem": _pem(public), "name": "werkbank-1"}
    r = app_client.post("/api/v1/stations/keys", json=body, headers=station)
    assert r.status_code == 201, r.text
    assert r.json()["key_id"] == keys.key_id(public)  # the fingerprint the station prints
    again = app_client.post("/api/v1/stations/keys", json=body, headers=station)
    assert again.json()["key_id"] == r.json()["key_id"]
    listed = app_client.get("/api/v1/stations/keys")  # no login
    assert [k["name"] for k in listed.json()] == ["werkbank-1"]
    pem = app_client.get(f"/api/v1/stations/keys/{keys.key_id(public)}.pem")
    assert pem.status_code == 200
    assert keys.key_id(keys.load_public_key(pem.content)) == keys.key_id(public)


def test_only_ed25519_keys_and_only_with_a_login(
    app_client: TestClient, station: dict[str, str]
) -> None:
    rsa = _pem(generate_private_key(public_exponent=65537, key_size=2048).public_key())
    r = app_client.post("/api/v1/stations/keys", json={"public_key_pem": rsa}, headers=station)
    assert r.status_code == 422 and "Ed25519" in r.json()["detail"]
    r = app_client.post("/api/v1/stations/keys", json={"public_key_pem": "nope"}, headers=station)
    assert r.status_code == 422
    pem = _pem(Ed25519PrivateKey.generate().public_key())
    assert app_client.post("/api/v1/stations/keys", json={"public_key_pem": pem}).status_code == 401
    assert app_client.get("/api/v1/stations/keys/0123456789abcdef.pem").status_code == 404
