"""TLS material for the broker's device listener: a private CA and a server certificate.

Generated at run time into the data folder (never committed). A hub with a certificate
from a public CA puts its own files there instead; nothing is regenerated while the
files exist.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

CA_DAYS = 3650
SERVER_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    """Where the broker's CA certificate, server certificate and key live."""

    cafile: Path
    certfile: Path
    keyfile: Path

    def ca_pem(self) -> str:
        """The CA certificate, PEM text, as handed to enrolling devices."""
        return self.cafile.read_text()


def tls_files(folder: Path) -> TlsFiles:
    """The file names inside `folder`."""
    return TlsFiles(folder / "ca.crt", folder / "server.crt", folder / "server.key")


def ensure_tls(folder: Path, ca_key_file: Path, names: tuple[str, ...] = ()) -> TlsFiles:
    """Create a CA and a server certificate for `names` (plus localhost) unless present.

    The CA key goes to `ca_key_file`, outside the folder handed to the broker's user.
    """
    files = tls_files(folder)
    if files.cafile.exists() and files.certfile.exists() and files.keyfile.exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Digibank hub broker CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    all_names = tuple(dict.fromkeys(("localhost", "127.0.0.1", *names)))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, all_names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in all_names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(files.cafile, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(files.certfile, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(files.keyfile, _key_pem(key), 0o600)
    # Kept only to issue a new server certificate later; the broker never needs it.
    _write(ca_key_file, _key_pem(ca_key), 0o600)
    log.info("generated broker TLS material in %s for %s", folder, ", ".join(all_names))
    return files


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)
