"""`?`: every key, and what each tab shows."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

TABS_HELP = (
    ("Code", "the tool's source; lines with static findings are marked"),
    ("Tests", "its test_tool.py"),
    ("Validation", "the latest report, layer by layer"),
    ("Provenance", "source, models, evidence, cost, dates"),
    ("Diff", "candidate vs active (or vs the previous version)"),
    ("History", "commits and versions; enter opens, b reverts"),
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        # Two columns of keys, so the whole help fits an 80x24 terminal.
        table = Table.grid(padding=(0, 1))
        for _ in range(2):
            table.add_column(style="bold cyan", no_wrap=True, justify="right")
            table.add_column(width=30)
        half = (len(self._keys) + 1) // 2
        left, right = self._keys[:half], self._keys[half:]
        for i, (key, description) in enumerate(left):
            other = right[i] if i < len(right) else ("", "")
            table.add_row(key, description, *other)
        tabs = Table.grid(padding=(0, 2))
        tabs.add_column(style="bold", no_wrap=True, justify="right")
        tabs.add_column()
        for i, (name, description) in enumerate(TABS_HELP, 1):
            tabs.add_row(f"{i} {name}", description)
        with VerticalScroll():
            yield Static(Text("toolforge review: keys", style="bold"))
            yield Static(table)
            yield Static(Text("\nTabs", style="bold"))
            yield Static(tabs)
            yield Static(Text("\nescape closes this help", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
