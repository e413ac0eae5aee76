"""Validation reports: one per run, layer by layer, stored outside git."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from toolforge.library.meta import now_iso
from toolforge.statedb import guard, open_db, open_reader
from toolforge.textsafe import encodable

REPORTS_DB = "reports.sqlite"  # in the library's state dir

Verdict = Literal["passed", "failed", "skipped", "error", "inconclusive"]
# "inconclusive": the property attack ran out of time before its minimum number of inputs
# (or before comparing with a second process). Not passed: promotion refuses it.
ReportVerdict = Literal["passed", "failed", "inconclusive"]


class _Encodable(BaseModel):
    """Text from tools and tests may hold lone surrogates: shown escaped, never a crash."""

    @field_validator("*", mode="before")
    @classmethod
    def _encodable(cls, value: Any) -> Any:
        return encodable(value)


class LayerResult(_Encodable):
    name: str  # contract | static | tests | coverage | property | determinism
    verdict: Verdict
    summary: str = ""
    duration_ms: float = 0.0
    findings: list[dict[str, Any]] = Field(default_factory=list)  # static findings
    tests: list[dict[str, Any]] = Field(default_factory=list)  # TestOutcome dicts
    problems: list[str] = Field(default_factory=list)
    # Attack and coverage findings: kind, severity ("blocking" | "warning"), args (the input
    # that shows it), detail, stage.
    counterexamples: list[dict[str, Any]] = Field(default_factory=list)
    limit_hits: list[str] = Field(default_factory=list)
    # Figures of the layer, e.g. the attack's examples_run, min_examples, calls, hash seeds.
    stats: dict[str, Any] = Field(default_factory=dict)

    @property
    def blocking(self) -> list[dict[str, Any]]:
        return [c for c in self.counterexamples if c.get("severity", "blocking") == "blocking"]

    @property
    def warning_findings(self) -> list[dict[str, Any]]:
        return [c for c in self.counterexamples if c.get("severity") == "warning"]


class ValidationReport(_Encodable):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    tool: str
    version: int | None = None
    location: str  # candidates | tools | path
    files_hash: str
    verdict: ReportVerdict
    backend: str
    isolated: bool
    limits: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    layers: list[LayerResult]
    created_at: str = Field(default_factory=now_iso)
    duration_ms: float = 0.0

    def layer(self, name: str) -> LayerResult | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    @property
    def tests_passed(self) -> int:
        layer = self.layer("tests")
        return sum(1 for t in layer.tests if t.get("outcome") == "passed") if layer else 0

    @property
    def tests_total(self) -> int:
        layer = self.layer("tests")
        return len(layer.tests) if layer else 0

    def failure_summary(self) -> str:
        """The reasons it failed, in a few lines (for errors and LLM refinement prompts)."""
        lines = []
        for layer in self.layers:
            if layer.verdict in ("failed", "error", "inconclusive"):
                lines.append(f"{layer.name}: {layer.summary}")
        return "\n".join(lines) or "passed"

    def warning_summary(self) -> str:
        """Warnings of every layer, one line each (empty when there are none)."""
        return "\n".join(f"{layer.name}: {w.get('kind')}: {w.get('detail')}"
                         for layer in self.layers for w in layer.warning_findings)


def files_hash(code: str, tests: str) -> str:
    """What a validation is valid for: the exact tool and test sources."""
    digest = hashlib.sha256()
    for part in (code, tests):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class ReportStore:
    """SQLite store of reports in the library's local state directory: a cache (reports
    travel as git notes too), so a damaged file is moved aside and started afresh."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        return open_db(self.path, setup=_setup)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """Reads need no writable state directory: no file reads as no reports."""
        db = open_reader(self.path)
        try:
            with guard(self.path):
                yield db
        finally:
            if db is not None:
                db.close()

    def save(self, report: ValidationReport) -> None:
        db = self._connect()
        try:
            with guard(self.path), db:
                db.execute(
                    "INSERT OR REPLACE INTO validation_reports VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (report.id, report.tool, report.version, report.files_hash,
                     report.verdict, report.created_at, report.model_dump_json()),
                )
        finally:
            db.close()

    def latest(self, tool: str, files_hash: str | None = None) -> ValidationReport | None:
        query = "SELECT report FROM validation_reports WHERE tool = ?"
        params: list[Any] = [tool]
        if files_hash is not None:
            query += " AND files_hash = ?"
            params.append(files_hash)
        query += " ORDER BY created_at DESC, rowid DESC LIMIT 1"
        return self._one(query, params)

    def get(self, report_id: str) -> ValidationReport | None:
        return self._one("SELECT report FROM validation_reports WHERE id = ?", [report_id])

    def _one(self, query: str, params: list[Any]) -> ValidationReport | None:
        with self._reading() as db:
            if db is None or not _has_table(db):
                return None
            row = db.execute(query, params).fetchone()
        return ValidationReport.model_validate(json.loads(row[0])) if row else None


def _setup(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    with db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS validation_reports ("
            " id TEXT PRIMARY KEY, tool TEXT NOT NULL, version INTEGER,"
            " files_hash TEXT NOT NULL, verdict TEXT NOT NULL, created_at TEXT NOT NULL,"
            " report TEXT NOT NULL)"
        )
        db.execute(
            "CREATE INDEX IF NOT EXISTS reports_by_tool ON validation_reports"
            " (tool, created_at)"
        )


def _has_table(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'validation_reports'"
                      ).fetchone() is not None
