"""A one-line choice for dialogs: every option visible, picked from the keyboard in one key.

Left/right (or the option's number) picks; up/down move to the previous/next field, so a
checklist is filled like a form on paper. Its value is set at once (no message round trip).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class Choice(Widget, can_focus=True):
    """Options in a row, like radio buttons; ``value`` is the chosen option's value or None."""

    DEFAULT_CSS = """
    Choice {
        height: 1;
        width: auto;
    }
    Choice:focus {
        background: $boost;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "step(1)", "Next option", show=False),
        Binding("left", "step(-1)", "Previous option", show=False),
        Binding("down", "app.focus_next", "Next field", show=False),
        Binding("up", "app.focus_previous", "Previous field", show=False),
    ]

    value: reactive[str | None] = reactive(None)

    class Changed(Message):
        """The technician picked another option."""

        def __init__(self, choice: Choice, value: str | None) -> None:
            super().__init__()
            self.choice, self.value = choice, value

        @property
        def control(self) -> Choice:
            """The choice that changed."""
            return self.choice

    def __init__(
        self,
        options: list[tuple[str, str]],
        value: str | None = None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.options = options
        self.set_reactive(Choice.value, value)

    def render(self) -> Text:
        """Each option with its mark; the chosen one stands out."""
        line = Text(no_wrap=True, overflow="ellipsis")
        for index, (label, value) in enumerate(self.options):
            chosen = value == self.value
            if index:
                line.append(" ")
            line.append(("◉ " if chosen else "○ ") + label, style="bold reverse" if chosen else "")
        return line

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """As wide as its options."""
        return sum(len(label) + 2 for label, _ in self.options) + len(self.options) - 1

    def watch_value(self, value: str | None) -> None:
        """Tell the dialog (it re-grades on every change)."""
        self.post_message(self.Changed(self, value))

    def action_step(self, delta: int) -> None:
        """Pick the next or previous option (the first one if none is picked yet)."""
        values = [v for _, v in self.options]
        if self.value not in values:
            self.value = values[0 if delta > 0 else -1]
            return
        self.value = values[(values.index(self.value) + delta) % len(values)]

    def on_key(self, event: events.Key) -> None:
        """A digit picks that option directly (1 = the first)."""
        if event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < len(self.options):
                self.value = self.options[index][1]
                event.stop()

    def on_click(self, event: events.Click) -> None:
        """A click picks the option under the pointer."""
        x = 0
        for label, value in self.options:
            width = len(label) + 2
            if x <= event.x < x + width:
                self.value = value
                return
            x += width + 1
