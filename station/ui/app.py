"""The station TUI: a live table of devices and their jobs, keyboard first, over the engine.

Hardware events and job progress arrive from other threads as messages; the work
itself runs in the engine's job threads and in thread workers, never on the UI thread.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingsMap, BindingType
from textual.logging import TextualHandler

from station.grading import LendableRule, load_rule
from station.ui.actions import DeviceActions
from station.ui.history import HistoryScreen
from station.ui.i18n import LANGUAGES, text
from station.ui.screens import CertificatesScreen, HelpScreen

log = logging.getLogger(__name__)

QUIT_CONFIRM_S = 5.0

# (key, action, text key); every key is shown, described, in the footer.
KEYS = (
    ("i", "intake", "b_intake"),
    ("d", "diagnose", "b_diagnose"),
    ("w", "wipe", "b_wipe"),
    ("g", "grade", "b_grade"),
    ("p", "label", "b_label"),
    ("r", "ready", "b_ready"),
    ("x", "cancel_job", "b_cancel"),
    ("c", "certificates", "b_certs"),
    ("h", "history", "b_history"),
    ("l", "language", "b_lang"),
    ("question_mark", "help", "b_help"),
    ("q", "quit", "b_quit"),
)


MAIN_SCREEN_ACTIONS = frozenset(action for _key, action, _label in KEYS if action != "quit")


def main_bindings(language: str) -> list[BindingType]:
    """The main screen's key bindings, described in ``language``."""
    return [
        Binding(
            key, action, text(language, label), key_display="?" if key == "question_mark" else None
        )
        for key, action, label in KEYS
    ]


class StationApp(DeviceActions):
    """Devices, jobs and their progress; every action one key away."""

    CSS_PATH = "station.tcss"
    BINDINGS: ClassVar[list[BindingType]] = main_bindings("nl")

    def on_mount(self) -> None:
        """Bindings in the configured language (Textual then runs the core's on_mount too)."""
        self._set_bindings()

    def _set_bindings(self) -> None:
        # Textual fixes binding descriptions per class; the station switches language at
        # run time, so the app's own binding map is rebuilt in the new language.
        self._bindings = BindingsMap(main_bindings(self.language))
        self.refresh_bindings()

    def action_language(self) -> None:
        """Switch between Dutch and English."""
        if not self.on_main_screen():
            return
        index = LANGUAGES.index(self.language) if self.language in LANGUAGES else 0
        self.language = LANGUAGES[(index + 1) % len(LANGUAGES)]
        self._set_bindings()
        self.title = self.t("title")
        self.sub_title = self.t("simulated") if self.simulated else ""
        attached = [self.records[k] for k in self.attached.values() if k in self.records]
        self.table.set_language(self.language, attached)
        self._show_detail()

    _quit_asked = -1e9

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Device and view keys only on the main screen (hidden from other screens' footers)."""
        return action not in MAIN_SCREEN_ACTIONS or self.on_main_screen()

    async def action_quit(self) -> None:
        """Quit; with jobs running, only when asked twice (they are cancelled, incomplete)."""
        running = sum(1 for rec in self.records.values() if rec.busy)
        now = time.monotonic()
        if running and now - self._quit_asked > QUIT_CONFIRM_S:
            self._quit_asked = now
            self.notify(self.t("quit_running", n=running), severity="warning", timeout=5)
            return
        self.exit(0)

    def action_help(self) -> None:
        """Show the help screen."""
        if not self.on_main_screen():
            return
        self.push_screen(HelpScreen(self.language))

    def action_history(self) -> None:
        """Show the selected device's history (server first, else this station's records)."""
        rec = self.selected() if self.on_main_screen() else None
        if rec is None:
            return
        name = rec.make_model or rec.slot
        serial, tag = ("", "") if self.simulated else (rec.serial, rec.asset_tag)
        screen = HistoryScreen(self.engine, name, serial, tag, rec.history, self.language)
        self.push_screen(screen)

    def action_certificates(self) -> None:
        """Show the issued certificates, each verified."""
        if not self.on_main_screen():
            return
        directory = self.engine.cfg.certificate_dir
        self.push_screen(CertificatesScreen(self.engine, directory, self.language))


def setup_logging(log_file: Path, level: int = logging.INFO) -> None:
    """Log to a file and to Textual's devtools handler, never to the terminal Textual owns."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(log_file, encoding="utf-8")
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level, handlers=[file_handler, TextualHandler()], force=True)


def grading_rule(env: dict[str, str] | None = None) -> LendableRule:
    """The lendable rule from the station's TOML file ([grading] table), else the defaults."""
    env = dict(os.environ) if env is None else env
    path = env.get("DIGIBANK_STATION_CONFIG")
    return load_rule(Path(path) if path else None)


def build_app(station: Any, simulate: bool = False, language: str | None = None) -> StationApp:
    """The app on the real hardware (default) or the simulated one."""
    cfg = station.cfg
    engine: Any
    source: Any
    if simulate:
        from station.hw.simulated import simulated_engine

        engine, source = simulated_engine(cfg, lambda event: None)
    else:
        from station.hw.runner import with_tool_path
        from station.hw.udev import DeviceWatcher

        engine = station
        source = DeviceWatcher(
            lambda event: None,
            include_loop=cfg.allow_loop_devices,
            search_path=with_tool_path(cfg.tool_path),
        )
    return StationApp(
        engine,
        source,
        language=language or cfg.language,
        simulated=simulate,
        rule=grading_rule(),
    )


def run(station: Any, simulate: bool = False) -> int:
    """Start the TUI; logs go to <data_dir>/station.log."""
    setup_logging(station.cfg.data_dir / "station.log")
    app = build_app(station, simulate)
    result = app.run()
    return int(result or 0)
