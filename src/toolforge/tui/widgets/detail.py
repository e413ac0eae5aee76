"""One tool in tabs: Code | Tests | Validation | Provenance | Diff | History."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane

from toolforge.terminal import Escaped, printable_line
from toolforge.tui.messages import LoadedDetail
from toolforge.tui.render import (
    VERDICT_MARK,
    VERDICT_STYLE,
    code_view,
    diff_view,
    finding_lines,
    provenance_view,
    report_view,
    status_text,
)
from toolforge.tui.widgets.history import HistoryTable
from toolforge.validation.report import ValidationReport

# (pane id, label): the order is the order of the tabs and of the 1-6 keys.
TABS = (("code", "Code"), ("tests", "Tests"), ("validation", "Validation"),
        ("provenance", "Provenance"), ("diff", "Diff"), ("history", "History"))


class DetailView(Vertical):
    DEFAULT_CSS = """
    DetailView { height: 3fr; border-top: solid $primary-darken-2; }
    DetailView > #detail-title { height: 1; padding: 0 1; }
    DetailView TabbedContent { height: 1fr; }
    DetailView TabPane { padding: 0; }
    DetailView VerticalScroll { height: 1fr; }
    DetailView VerticalScroll > Static { padding: 0 1; }
    DetailView HistoryTable { height: 1fr; }
    """

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self.loaded: LoadedDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("No tool selected.", style="dim"), id="detail-title")
        with TabbedContent(id="tabs", initial="tab-code"):
            for pane, label in TABS:
                with TabPane(label, id=f"tab-{pane}"):
                    if pane == "history":
                        yield HistoryTable(id="history")
                    else:
                        with VerticalScroll(id=f"scroll-{pane}"):
                            yield Static(id=f"{pane}-view")

    @property
    def history(self) -> HistoryTable:
        return self.query_one(HistoryTable)

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one(TabbedContent)

    @property
    def active_tab(self) -> str:
        return self.tabs.active.removeprefix("tab-")

    def show_tab(self, pane: str) -> None:
        self.tabs.active = f"tab-{pane}"

    def _view(self, pane: str) -> Static:
        return self.query_one(f"#{pane}-view", Static)

    def show_empty(self, text: str) -> None:
        self.loaded = None
        self.query_one("#detail-title", Static).update(Text(printable_line(text), style="dim"))
        for pane, _ in TABS:
            if pane != "history":
                self._view(pane).update("")
        self.history.clear()

    def show_tool(self, loaded: LoadedDetail) -> None:
        self.loaded = loaded
        d = loaded.detail
        title = Text.assemble((printable_line(d.tool), "bold"), f" v{d.version} · ",
                              status_text(d.status))
        if d.has_candidate and d.status != "candidate":
            title.append(" · has a candidate", style="yellow")
        title.append(f" · {printable_line(str(d.meta.get('description', '')))}", style="dim")
        title.no_wrap, title.overflow = True, "ellipsis"
        self.query_one("#detail-title", Static).update(title)
        self._view("tests").update(Escaped(code_view(d.tests)))
        self._view("provenance").update(Escaped(provenance_view(d, self._clock())))
        self._view("diff").update(Escaped(diff_view(loaded.diff, loaded.diff_error)))
        self.history.show_history(d)
        self.show_report(loaded.report)

    def show_report(self, report: ValidationReport | None) -> None:
        """The Validation tab, and the Code tab's marks on lines with static findings."""
        if self.loaded is None:
            return
        self.loaded.report = report
        d = self.loaded.detail
        self._view("code").update(
            Escaped(code_view(d.code, highlight=finding_lines(report, "tool.py"))))
        self._view("validation").update(
            Escaped(report_view(report, code=d.code, tests=d.tests, now=self._clock())))
        tab = self.tabs.get_tab("tab-validation")
        label = Text("Validation")
        if report is not None:
            label.append(f" {VERDICT_MARK.get(report.verdict, '?')}",
                         style=VERDICT_STYLE.get(report.verdict, ""))
        tab.label = label
