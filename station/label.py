"""Labels: the asset tag as a QR code, as PNG (label printers) and as a small PDF page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import segno
from fpdf import FPDF

from station.errors import StationError

# Brother DK-11209-style small address label, in millimetres.
LABEL_W_MM, LABEL_H_MM = 62.0, 29.0
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_tag(asset_tag: str) -> str:
    tag = asset_tag.strip()
    if not _TAG_RE.match(tag):
        raise StationError(
            f"asset tag {asset_tag!r} is not printable (letters, digits, - _ . only)"
        )
    return tag


def qr_png(asset_tag: str, path: Path, scale: int = 8) -> Path:
    """Write the asset tag as a QR code PNG (error correction M, quiet zone 4)."""
    tag = _check_tag(asset_tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    segno.make(tag, error="m", micro=False).save(str(path), kind="png", scale=scale, border=4)
    return path


def label_pdf(asset_tag: str, path: Path, lines: tuple[str, ...] = ()) -> Path:
    """Write a label-sized PDF: QR code on the left, the tag and up to three lines of text."""
    tag = _check_tag(asset_tag)
    png = io.BytesIO()
    segno.make(tag, error="m", micro=False).save(png, kind="png", scale=10, border=2)
    png.seek(0)
    pdf = FPDF(orientation="L", unit="mm", format=(LABEL_H_MM, LABEL_W_MM))
    pdf.set_margins(1.5, 1.5, 1.5)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    side = LABEL_H_MM - 3
    pdf.image(png, x=1.5, y=1.5, w=side, h=side)
    pdf.set_xy(side + 3, 3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, tag, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 7)
    for line in lines[:3]:
        pdf.set_x(side + 3)
        pdf.cell(
            0, 4, line.encode("latin-1", "replace").decode("latin-1"), new_x="LMARGIN", new_y="NEXT"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
