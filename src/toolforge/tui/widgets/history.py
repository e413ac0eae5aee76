"""A tool's history: the commits that touched it, newest first, with their versions."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from toolforge.service.models import HistoryItem, ToolDetail
from toolforge.terminal import printable_line

ACTION_STYLE = {"promote": "green", "rollback": "cyan", "reject": "red", "retire": "dim",
                "add": "yellow"}


class HistoryTable(DataTable[Text]):
    """`enter` opens the highlighted version (the app handles RowSelected); `b` reverts
    to it (an app binding that asks this table for `selected_version`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._items: list[HistoryItem] = []
        self._promoted: set[int] = set()

    def on_mount(self) -> None:
        self.add_column("ver", width=4, key="version")
        self.add_column("action", width=9, key="action")
        self.add_column("date", width=16, key="date")
        self.add_column("subject", key="subject")

    def show_history(self, detail: ToolDetail) -> None:
        self._items = list(detail.history)
        self._promoted = {v.version for v in detail.versions}
        self.clear()
        for item in self._items:
            version = f"v{item.version}" if item.version is not None else ""
            promoted = item.version in self._promoted and item.action in ("promote", "rollback")
            self.add_row(
                Text(version, style="bold" if promoted else "dim"),
                Text(printable_line(item.action or ""),
                     style=ACTION_STYLE.get(item.action or "", "")),
                Text(printable_line(item.date[:16].replace("T", " "))),
                Text(printable_line(item.subject), no_wrap=True, overflow="ellipsis"),
                key=item.commit,
            )

    @property
    def selected_item(self) -> HistoryItem | None:
        row = self.cursor_row
        return self._items[row] if 0 <= row < len(self._items) else None

    @property
    def selected_version(self) -> int | None:
        item = self.selected_item
        return item.version if item is not None else None

    def is_promoted(self, version: int | None) -> bool:
        return version is not None and version in self._promoted
