"""The station's Ed25519 signing key: generated on first use, kept private in the data folder."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.errors import CertificateError

log = logging.getLogger(__name__)

KEY_FILE = "station_ed25519.pem"


def _load(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateError(f"station key {path} is unreadable: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CertificateError(f"station key {path} is not an Ed25519 key")
    return key


def load_or_create_key(key_dir: Path) -> Ed25519PrivateKey:
    """Load the station key, generating it (mode 0600) the first time."""
    path = key_dir / KEY_FILE
    if path.exists():
        return _load(path)
    key_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(key_dir, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Write aside, then link into place: link fails if another thread or process won
    # the race, and nobody ever reads a half-written key.
    tmp = key_dir / f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        return _load(path)
    finally:
        os.unlink(tmp)
    log.info("generated a new station signing key %s", key_id(key.public_key()))
    return key


def public_raw(public: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_b64(public: Ed25519PublicKey) -> str:
    """The public key as base64 of its raw bytes (as written into certificates)."""
    return base64.b64encode(public_raw(public)).decode()


def public_pem(public: Ed25519PublicKey) -> str:
    """The public key as a PEM SubjectPublicKeyInfo block."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(public: Ed25519PublicKey) -> str:
    """A short fingerprint: the first 16 hex digits of SHA-256 of the raw key."""
    return hashlib.sha256(public_raw(public)).hexdigest()[:16]


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """Read a public key given as PEM or as base64 of the raw 32 bytes."""
    text = data.strip()
    try:
        if text.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(text)
            if not isinstance(key, Ed25519PublicKey):
                raise CertificateError("the public key is not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateError(f"unreadable public key: {exc}") from exc
