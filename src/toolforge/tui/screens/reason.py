"""Asks why a candidate is rejected (the reason is recorded in the commit)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from toolforge.terminal import printable_line


class ReasonScreen(ModalScreen[str | None]):
    """Dismissed with the reason, or None when cancelled."""

    DEFAULT_CSS = """
    ReasonScreen { align: center middle; }
    ReasonScreen > Vertical {
        width: 70; height: auto; border: thick $error; background: $surface; padding: 1 2;
    }
    ReasonScreen Input { margin: 1 0; }
    ReasonScreen #reason-hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str = "Why? (recorded in the commit)") -> None:
        super().__init__()
        self._title, self._prompt = title, prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(printable_line(self._title), style="bold"))
            yield Static(Text(self._prompt))
            yield Input(placeholder="reason", id="reason")
            yield Static("enter: reject · escape: cancel", id="reason-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        if not reason:
            self.query_one("#reason-hint", Static).update(
                Text("A reason is required (escape cancels).", style="bold red"))
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
