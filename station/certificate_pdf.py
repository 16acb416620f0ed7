"""A printable PDF of a signed certificate (the JSON stays the authoritative, signed form)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF


def _latin1(value: Any) -> str:
    # The core PDF fonts cover Latin-1 only; anything else is replaced, never a crash.
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    c = doc["certificate"]
    media, san, ver = c.get("media", {}), c.get("sanitization", {}), c.get("verification", {})
    hidden = c.get("hidden_areas", {})
    hidden_text = (
        "not checked"
        if not hidden.get("checked")
        else f"HPA {'FOUND' if hidden.get('hpa_present') else 'none'}, "
        f"DCO {'FOUND' if hidden.get('dco_present') else 'none'}"
    )
    return [
        ("Certificate ID", c.get("certificate_id", "")),
        ("Issued", c.get("issued_at", "")),
        ("Technician", c.get("person", {}).get("name", "")),
        (
            "Station / location",
            f"{c.get('station', {}).get('name', '')} / {c.get('station', {}).get('location', '')}",
        ),
        ("Manufacturer", media.get("manufacturer", "")),
        ("Model", media.get("model", "")),
        ("Serial number", f"{media.get('serial_number', '')} ({media.get('serial_source', '')})"),
        ("Property number (asset tag)", media.get("property_number", "")),
        ("Media type", media.get("media_type", "")),
        ("Capacity (bytes)", media.get("capacity_bytes", "")),
        ("Sanitization category", san.get("category", "")),
        ("Technique", san.get("technique", "")),
        ("Tool and version", f"{san.get('tool', '')} {san.get('tool_version', '')}"),
        ("Started / ended", f"{san.get('started_at', '')} / {san.get('ended_at', '')}"),
        ("Bytes written", san.get("bytes_written", "")),
        ("Write throughput (MB/s)", f"{san.get('write_throughput_bytes_per_s', 0) / 1e6:.1f}"),
        ("Errors", "; ".join(san.get("errors", [])) or "none"),
        ("Hidden areas", hidden_text),
        ("Verification", f"{ver.get('method', '')}: {ver.get('result', '')}"),
        ("Status", f"{c.get('status', '')} {c.get('status_reason', '')}".strip()),
        ("Post-sanitization destination", c.get("post_sanitization_destination", "")),
        ("Signature (Ed25519)", f"key {doc['signature'].get('key_id', '')}"),
    ]


def write_pdf(document: dict[str, Any], path: Path) -> Path:
    """Render a signed certificate document as a one-page PDF at ``path``."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(
        0, 10, "Certificate of Sanitization (NIST SP 800-88 Rev. 1)", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", "", 9)
    for label, value in _rows(document):
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(62, 6, _latin1(label))
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(
        0,
        4,
        "The signed JSON file with this certificate ID is authoritative. Check it offline with "
        "'digibank-station verify FILE' against the station's public key.",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
