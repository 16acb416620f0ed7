"""The live device table and the detail line under it."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from station.ui.history import history_summary
from station.ui.i18n import text
from station.ui.model import DeviceRecord

COLUMNS = (
    "slot",
    "kind",
    "model",
    "serial",
    "size",
    "tag",
    "smart",
    "job",
    "progress",
    "speed",
    "eta",
)
# Widths keep the important columns on an 80-column screen; the rest scrolls sideways.
WIDTHS = {"slot": 7, "kind": 5, "model": 14, "serial": 11, "size": 8, "tag": 10, "smart": 7}


def row_cells(rec: DeviceRecord, language: str = "en") -> list[str]:
    """The cells of one device, in COLUMNS order."""
    job, progress, speed, eta = rec.job_cells(language)
    return [
        rec.slot,
        rec.kind,
        rec.make_model or "-",
        rec.serial or "-",
        rec.capacity,
        rec.asset_tag or "-",
        rec.smart or "-",
        job,
        progress,
        speed,
        eta,
    ]


class DeviceTable(DataTable[str]):
    """One row per attached device, keyed by the device's identity."""

    def __init__(self, language: str) -> None:
        super().__init__(id="devices", cursor_type="row", zebra_stripes=True)
        self.language = language

    def on_mount(self) -> None:
        """Create the columns in the current language."""
        self.set_language(self.language, [])

    def set_language(self, language: str, records: list[DeviceRecord]) -> None:
        """(Re)build the columns in ``language`` and show ``records``, keeping the cursor row."""
        selected = self.selected_key()
        self.language = language
        self.clear(columns=True)
        for key in COLUMNS:
            self.add_column(text(language, f"col_{key}"), key=key, width=WIDTHS.get(key))
        for rec in records:
            self.show(rec)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def show(self, rec: DeviceRecord) -> None:
        """Add or update the row of ``rec``."""
        cells = row_cells(rec, self.language)
        if rec.key not in self.rows:
            self.add_row(*cells, key=rec.key)
            return
        for key, value in zip(COLUMNS, cells, strict=True):
            # Only what changed: progress arrives four times a second per job.
            if self.get_cell(rec.key, key) != value:
                self.update_cell(rec.key, key, value)

    def drop(self, key: str) -> None:
        """Remove a row if present."""
        if key in self.rows:
            self.remove_row(key)

    def selected_key(self) -> str | None:
        """The key of the row under the cursor."""
        if self.row_count == 0:
            return None
        value = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(value) if value is not None else None

    def cell_text(self, key: str, column: str) -> str:
        """The text of one cell (for tests and the detail line)."""
        return str(self.get_cell(key, column))


class DetailLine(Static):
    """Everything about the selected device, also what the narrow table cannot show."""

    _shown: str = ""

    def show(self, rec: DeviceRecord | None, language: str) -> None:
        """Describe ``rec`` in two lines (redrawn only when the text changes)."""
        described = self.describe(rec, language)
        if described != self._shown:
            self._shown = described
            self.update(described, layout=False)  # fixed height: no re-layout per key

    @staticmethod
    def describe(rec: DeviceRecord | None, language: str) -> str:
        """Three lines: identity; tag, SMART, last wipe, grades; the current job."""
        if rec is None:
            return text(language, "no_device")
        disk = rec.disk
        source = f" ({text(language, 'serial_source')} {disk.serial_source})" if disk else ""
        first = (
            f"{rec.slot} {rec.kind} {rec.make_model or '-'}  "
            f"S/N {rec.serial or '-'}{source}  {rec.capacity}"
        )
        grades = (
            f"{rec.grades.cosmetic}/{rec.grades.functional}/{rec.grades.battery}"
            if rec.grades
            else "-"
        )
        last_wipe = text(language, f"state_{rec.last_wipe}") if rec.last_wipe else "-"
        second = (
            f"{text(language, 'col_tag')}: {rec.asset_tag or '-'}  SMART: {rec.smart or '-'}  "
            f"{text(language, 'last_wipe')}: {last_wipe}  "
            f"{text(language, 'grades')}: {grades}"
        )
        if rec.ready:
            second += f"  ✓ {text(language, 'ready_ok')}"
        job, progress, speed, eta = rec.job_cells(language)
        third = f"{text(language, 'col_job')}: {job or '-'} {progress} {speed} {eta}".rstrip()
        if rec.history is not None:
            third += f"  {history_summary(rec.history, language)}"
        return f"{first}\n{second}\n{third}"


class KeyBar(Static):
    """The footer: every active key with its description, wrapped onto two lines at 80 columns.

    Textual's Footer is one line; the station's eleven described keys need two.
    """

    def on_mount(self) -> None:
        """Follow the screen's bindings (language switch, modal screens)."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.refresh_keys)

    def on_unmount(self) -> None:
        """Stop following."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh_keys()

    def entries(self) -> list[tuple[str, str]]:
        """(key as shown, description) of every shown binding, in binding order."""
        seen: list[tuple[str, str]] = []
        for key, active in self.app.active_bindings.items():
            binding = active.binding
            if not binding.show or not binding.description:
                continue
            shown = binding.key_display or self.app.get_key_display(binding) or key
            if (shown, binding.description) not in seen:
                seen.append((shown, binding.description))
        return seen

    def refresh_keys(self) -> None:
        """Lay the keys out in lines no wider than the bar."""
        width = max(self.size.width, 20)
        lines: list[list[str]] = [[]]
        used = 0
        for shown, description in self.entries():
            cell = f"[b $accent]{shown}[/] {description}"
            length = len(shown) + 1 + len(description)
            if lines[-1] and used + 2 + length > width:
                lines.append([])
                used = 0
            used += (2 if lines[-1] else 0) + length
            lines[-1].append(cell)
        self.update("\n".join("  ".join(line) for line in lines))

    def on_resize(self) -> None:
        """Re-wrap for the new width."""
        self.refresh_keys()
