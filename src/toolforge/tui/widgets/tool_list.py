"""The tool list: a search box, a status filter and a table of tools."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from toolforge.service.models import ToolSummary
from toolforge.terminal import printable_line
from toolforge.tui.render import age, status_text, verdict_text

# "rejected" is not part of "all": rejected candidates live in the history only.
FILTERS = ("all", "candidate", "active", "retired", "rejected")
FILTER_LABELS = {"all": "all", "candidate": "candidates", "active": "active",
                 "retired": "retired", "rejected": "rejected"}
COLUMNS = (("name", 24), ("ver", 4), ("status", 9), ("verdict", 7), ("age", 4), ("model", 16))


def tool_key(tool: ToolSummary) -> str:
    # A tool may have an active and a candidate directory at once: one row each; and any
    # number of rejected candidates in its past.
    if tool.status == "rejected":
        return f"rejected/{tool.tool}/v{tool.version}"
    return f"{tool.location}/{tool.tool}"


class ToolTable(DataTable[Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "top", "Top", show=False),
        Binding("G", "bottom", "Bottom", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def action_top(self) -> None:
        self.move_cursor(row=0)

    def action_bottom(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))


class ToolList(Vertical):
    DEFAULT_CSS = """
    ToolList { height: 2fr; min-height: 6; }
    ToolList > #search-bar { height: 1; }
    ToolList #search { border: none; height: 1; padding: 0 1; width: 1fr; }
    ToolList #search:focus { background: $boost; }
    ToolList #filter-label { width: auto; padding: 0 1; color: $text-muted; }
    ToolList ToolTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_search", "Back to the list", show=False)]

    class Selected(Message):
        """The highlighted tool changed (None: the list is empty)."""

        def __init__(self, tool: ToolSummary | None) -> None:
            super().__init__()
            self.tool = tool

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._tools: list[ToolSummary] = []
        self._shown: list[ToolSummary] = []
        self._selected_key: str | None = None
        self.status_filter = "all"

    def compose(self) -> ComposeResult:
        with Horizontal(id="search-bar"):
            yield Input(placeholder="/ to search name, description, model", id="search")
            yield Static(id="filter-label")
        yield ToolTable(id="tool-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.table
        for label, width in COLUMNS:
            table.add_column(label, width=width, key=label)
        self._update_filter_label()

    @property
    def table(self) -> ToolTable:
        return self.query_one(ToolTable)

    @property
    def search(self) -> Input:
        return self.query_one("#search", Input)

    @property
    def tools(self) -> list[ToolSummary]:
        return list(self._tools)

    @property
    def shown(self) -> list[ToolSummary]:
        return list(self._shown)

    @property
    def selected(self) -> ToolSummary | None:
        row = self.table.cursor_row
        return self._shown[row] if 0 <= row < len(self._shown) else None

    # --- data --------------------------------------------------------------------------------

    def set_tools(self, tools: list[ToolSummary]) -> None:
        self._tools = list(tools)
        self._rebuild()

    def _matches(self, tool: ToolSummary) -> bool:
        if self.status_filter == "all":
            if tool.status == "rejected":
                return False
        elif tool.status != self.status_filter:
            return False
        query = self.search.value.strip().lower()
        if not query:
            return True
        haystack = " ".join((tool.tool, tool.description, tool.model or "", tool.source or "",
                             tool.reason or ""))
        return all(word in haystack.lower() for word in query.split())

    def _rebuild(self) -> None:
        table = self.table
        before = self.selected
        old_row = table.cursor_row
        now = self._clock()
        self._shown = [t for t in self._tools if self._matches(t)]
        table.clear()
        for tool in self._shown:
            table.add_row(*self._cells(tool, now), key=tool_key(tool))
        if not self._shown:
            self._select(None)
            return
        # Keep the same tool highlighted: same row, else the same name (a promoted
        # candidate becomes the active row), else the same position.
        keys = [tool_key(t) for t in self._shown]
        row = min(old_row, len(keys) - 1)
        if before is not None:
            if tool_key(before) in keys:
                row = keys.index(tool_key(before))
            else:
                names = [t.tool for t in self._shown]
                row = names.index(before.tool) if before.tool in names else row
        table.move_cursor(row=max(0, row), animate=False)
        self._select(self._shown[max(0, row)])

    def _cells(self, tool: ToolSummary, now: datetime) -> list[Text]:
        model = tool.model or (f"({tool.source})" if tool.source else "-")
        return [
            Text(printable_line(tool.tool), style="bold" if tool.status == "candidate" else ""),
            Text(f"v{tool.version}" if tool.version else "-"),
            status_text(tool.status),
            verdict_text(tool.verdict),
            Text(age(tool.created_at, now), style="dim"),
            Text(printable_line(model), style="" if tool.model else "dim", overflow="ellipsis",
                 no_wrap=True),
        ]

    def _select(self, tool: ToolSummary | None) -> None:
        key = tool_key(tool) if tool is not None else None
        if key != self._selected_key:
            self._selected_key = key
            self.post_message(self.Selected(tool))

    @on(DataTable.RowHighlighted, "#tool-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.cursor_row != self.table.cursor_row:
            return  # stale: posted before a rebuild moved the cursor
        self._select(self.selected)

    # --- search and filter -------------------------------------------------------------------

    def cycle_filter(self) -> str:
        self.status_filter = FILTERS[(FILTERS.index(self.status_filter) + 1) % len(FILTERS)]
        self._update_filter_label()
        self._rebuild()
        return self.status_filter

    def _update_filter_label(self) -> None:
        label = Text.assemble(("f ", "bold"), f"status: {FILTER_LABELS[self.status_filter]}")
        self.query_one("#filter-label", Static).update(label)

    def focus_search(self) -> None:
        self.search.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._rebuild()

    @on(Input.Submitted, "#search")
    def _search_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def action_leave_search(self) -> None:
        if self.search.has_focus:
            self.table.focus()
        elif self.search.value:
            self.search.value = ""  # escape on the list clears the search
