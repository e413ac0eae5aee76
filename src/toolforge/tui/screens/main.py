"""The main screen: the tool list over the detail tabs, a status line and the footer.

The action keys live here, not on the app, so they are inactive while a modal (confirm,
reason, help) or the version screen is on top; they call the app's actions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from toolforge.tui.widgets.detail import TABS, DetailView
from toolforge.tui.widgets.status_bar import StatusBar
from toolforge.tui.widgets.tool_list import ToolList

MAIN_BINDINGS: list[BindingType] = [
    Binding("p", "app.promote", "Promote"),
    Binding("x", "app.reject", "Reject"),
    Binding("v", "app.revalidate", "Validate"),
    Binding("r", "app.retire", "Retire"),
    Binding("b", "app.revert", "Revert"),
    Binding("slash", "app.search", "Search", key_display="/"),
    Binding("f", "app.cycle_filter", "Filter"),
    Binding("R", "app.refresh", "Refresh", show=False),
    Binding("question_mark", "app.help", "Help", key_display="?"),
    Binding("q", "app.quit", "Quit"),
    *(Binding(str(i), f"app.tab('{pane}')", label, show=False)
      for i, (pane, label) in enumerate(TABS, 1)),
]

# What `?` lists (bindings of the widgets included), in this order.
HELP_KEYS = [
    ("p", "promote (asks first)"),
    ("x", "reject it (asks why)"),
    ("v", "revalidate, show the report"),
    ("r", "retire the tool (confirms)"),
    ("b", "revert to previous/History row"),
    ("enter", "History: open that version"),
    ("/", "search (name, text, model)"),
    ("f", "filter by status, rejected"),
    ("esc", "leave / clear the search"),
    ("g G", "first / last tool"),
    ("j k", "down / up"),
    ("1-6", "switch tab"),
    ("tab", "next pane"),
    ("R", "refresh (and reconnect)"),
    ("?", "this help"),
    ("q", "quit"),
]


class MainScreen(Screen[None]):
    DEFAULT_CSS = """
    MainScreen { layout: vertical; }
    """
    BINDINGS: ClassVar[list[BindingType]] = MAIN_BINDINGS

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self._clock = clock

    def compose(self) -> ComposeResult:
        yield ToolList(self._clock, id="tools")
        yield DetailView(self._clock, id="detail")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    class Ready(Message):
        """Composed and mounted: the app may start loading into the widgets."""

    def on_mount(self) -> None:
        self.query_one(ToolList).table.focus()
        self.post_message(self.Ready())
