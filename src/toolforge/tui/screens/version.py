"""One version of a tool, read-only (opened from the History tab); `b` reverts to it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from toolforge.service.models import ToolDetail
from toolforge.terminal import Escaped, printable_line
from toolforge.tui.render import code_view, status_text


class VersionScreen(Screen[str | None]):
    """Dismissed with "revert" when the user asks to revert to this version, else None."""

    DEFAULT_CSS = """
    VersionScreen #version-title { height: 1; padding: 0 1; background: $panel; }
    VersionScreen TabbedContent { height: 1fr; }
    VersionScreen VerticalScroll > Static { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "revert", "Revert to this version"),
        Binding("escape,q", "close", "Back"),
    ]

    def __init__(self, detail: ToolDetail, *, promoted: bool) -> None:
        super().__init__()
        self.detail = detail
        self.promoted = promoted

    def compose(self) -> ComposeResult:
        d = self.detail
        title = Text.assemble((f"{printable_line(d.tool)} v{d.version}", "bold"), " · ",
                              status_text(d.status),
                              f" · {d.location}", (" · read-only", "dim"))
        yield Static(title, id="version-title")
        with TabbedContent():
            with TabPane("Code", id="version-code"), VerticalScroll():
                yield Static(Escaped(code_view(d.code)))
            with TabPane("Tests", id="version-tests"), VerticalScroll():
                yield Static(Escaped(code_view(d.tests)))
        yield Footer()

    def action_revert(self) -> None:
        if not self.promoted:
            self.notify(f"v{self.detail.version} was never promoted: only promoted versions "
                        "can be restored", severity="warning", markup=False)
            return
        self.dismiss("revert")

    def action_close(self) -> None:
        self.dismiss(None)
