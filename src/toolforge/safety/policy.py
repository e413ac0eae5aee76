"""What generated code may import and touch (DESIGN.md §5, layer 1).

Every module is classified by the longest matching entry of `MODULE_RULES` (an entry covers
the module and its submodules, so `"os.path": FILE` carves a hole in `"os": DENIED` and
`"http.server": DENIED` one in `"http": ALLOWED`). Modules with no entry are not allowed:
the list is an allow-list, and the DENIED entries only exist to say *why* and to stop a
library's `[policy]` table from re-enabling an escape hatch.

Why the usual suspects (os, sys, subprocess, importlib, builtins, pickle, marshal, ctypes,
inspect, gc, types, threading, multiprocessing, asyncio, unittest, ...) are DENIED is
written next to them in `_DENIED_GROUPS`, and findings quote it. pathlib, os.path, glob,
tempfile, shutil, zipfile, tarfile and dbm are FILE: a library may enable them with
`allow_file_access`, and the sandbox still confines them to the work dir. Inside allowed
modules, every member that takes a file path is FILE too, found by its signature rather
than listed (`file_parameter`). socket, ssl, http.client, urllib.request, ... are NETWORK
(`allow_network`).
Private modules (`_pickle`, `_posixsubprocess`, `_io`, ...) are always denied; only
`__future__` is allowed, because it is a compiler directive.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolforge.errors import ConfigError


class Access(StrEnum):
    ALLOWED = "allowed"
    FILE = "file"  # needs policy.allow_file_access
    NETWORK = "network"  # needs policy.allow_network
    DENIED = "denied"  # never, whatever the policy says


_A, _F, _N, _D = Access.ALLOWED, Access.FILE, Access.NETWORK, Access.DENIED

# The safe standard-library subset: pure computation on values. Members that do reach the
# outside world are gated one by one in MEMBER_RULES below.
DEFAULT_ALLOWED_IMPORTS: tuple[str, ...] = (
    "__future__",
    # numbers
    "math", "cmath", "decimal", "fractions", "statistics", "numbers", "random",
    # text
    "re", "string", "textwrap", "unicodedata", "difflib", "fnmatch", "shlex",
    "html", "html.parser", "urllib.parse", "http", "http.cookies",
    # data formats and encodings (in memory: json, csv over StringIO, io.StringIO/BytesIO)
    "json", "csv", "io", "base64", "binascii", "struct", "zlib", "gzip", "bz2", "lzma",
    "hashlib", "hmac", "secrets", "uuid", "ipaddress", "codecs", "email",
    "xml.etree.ElementTree", "xml.dom.minidom",
    # time (time.sleep is fine: the sandbox enforces wall time)
    "datetime", "calendar", "zoneinfo", "time",
    # data structures and functional helpers
    "itertools", "functools", "operator", "collections", "heapq", "bisect", "array",
    "copy", "pprint", "reprlib", "graphlib", "keyword", "colorsys",
    # declarations
    "dataclasses", "enum", "typing", "abc", "contextlib",
)  # fmt: skip

FILE_IMPORTS: tuple[str, ...] = (
    "pathlib", "os.path", "glob", "tempfile", "shutil", "zipfile", "tarfile", "dbm",
)  # fmt: skip

NETWORK_IMPORTS: tuple[str, ...] = (
    "socket", "ssl", "select", "selectors", "http.client", "http.cookiejar",
    "urllib.request", "urllib.error", "urllib.response", "urllib.robotparser",
    "ftplib", "smtplib", "poplib", "imaplib", "xmlrpc.client",
)  # fmt: skip

# Never importable, whatever a library's policy says; grouped by the reason findings give.
_DENIED_GROUPS: dict[str, tuple[str, ...]] = {
    "it controls processes and the environment, and sys.modules hands out every loaded "
    "module": (
        "os", "sys", "subprocess", "pty", "signal", "resource", "posix", "nt", "fcntl",
        "termios", "tty", "pwd", "grp", "spwd", "crypt", "getpass", "platform", "webbrowser",
    ),
    "it imports or runs code the checker never saw": (
        "importlib", "builtins", "runpy", "code", "codeop", "pkgutil", "zipimport", "site",
        "sysconfig", "imp", "pydoc", "antigravity", "this", "ensurepip", "venv", "idlelib",
    ),
    "it touches raw memory, or deserialises data by calling arbitrary functions": (
        "ctypes", "cffi", "mmap", "pickle", "cPickle", "marshal", "shelve", "dill",
        "cloudpickle", "copyreg", "joblib",
    ),
    "it reaches frames, globals, code objects or every live object": (
        "inspect", "gc", "types", "dis", "ast", "traceback", "weakref", "tracemalloc",
        "faulthandler", "atexit", "trace", "pdb", "bdb", "opcode", "symtable",
    ),
    "it starts background work that outlives the call (asyncio also spawns processes)": (
        "threading", "_thread", "multiprocessing", "concurrent", "asyncio", "sched", "queue",
    ),
    "unittest.mock can replace any code at runtime, including the tool under test": (
        "unittest",
    ),
    "it listens on the network": ("http.server", "xmlrpc.server", "socketserver"),
    "tools report through return values and exceptions; logging can open files and "
    "sockets, and locale changes the whole process": ("logging", "warnings", "locale"),
    "it needs a display or a terminal": ("tkinter", "turtle", "readline", "rlcompleter"),
    "it reads the files named on its command line": ("json.tool",),
}  # fmt: skip
HARD_DENIED_IMPORTS: dict[str, str] = {
    module: reason for reason, modules in _DENIED_GROUPS.items() for module in modules
}

# Extra modules a test file may import: the pytest shim and the tool under test.
TEST_IMPORTS: tuple[str, ...] = ("pytest", "tool")
# Modules tests may not import although tools may: they build classes from a namespace
# (Enum("E", {...}), make_dataclass(namespace=...), ABCMeta(name, bases, ns)), and a class
# whose __eq__ or __bool__ lies could turn a comparison made inside the test green.
TEST_DENIED_IMPORTS: dict[str, str] = {
    **{name: "test files cannot build classes (their methods could lie in a comparison)"
       for name in ("dataclasses", "enum", "abc")},
    "pydantic": "it states a tool's contract; tests have no use for it",
}

# Not the standard library, but part of the tool contract: `Annotated[float, Field(gt=0)]`
# states a precondition. Only `Field` may be used (see MEMBER_RULES); the sandbox supplies
# a stand-in when pydantic itself is not visible there (guest/worker.py).
CONTRACT_IMPORTS: tuple[str, ...] = ("pydantic",)

MODULE_RULES: dict[str, Access] = {
    **{name: _A for name in DEFAULT_ALLOWED_IMPORTS},
    **{name: _A for name in CONTRACT_IMPORTS},
    **{name: _F for name in FILE_IMPORTS},
    **{name: _N for name in NETWORK_IMPORTS},
    **{name: _D for name in HARD_DENIED_IMPORTS},
}

# Per-module member rules for allowed modules; "*" is the default for unlisted members.
# Members that take a file path need no entry here: `file_parameter` finds them by signature.
MEMBER_RULES: dict[str, dict[str, Access]] = {
    # io.open/FileIO are file access; in-memory buffers are what parsing tools need.
    "io": {
        "StringIO": _A,
        "BytesIO": _A,
        "TextIOWrapper": _A,
        "UnsupportedOperation": _A,
        "SEEK_SET": _A,
        "SEEK_CUR": _A,
        "SEEK_END": _A,
        "open_code": _D,
        "*": _F,
    },
    # register() evaluates its function's annotations: eval with a namespace of the tool's.
    "functools": {"singledispatch": _D, "singledispatchmethod": _D},
    # They evaluate annotation strings (ForwardRef): eval in disguise.
    "typing": {"get_type_hints": _D, "ForwardRef": _D, "evaluate_forward_ref": _D},
    # Formatter.format("{0.__globals__}", f) walks attributes the checker cannot see.
    "string": {"Formatter": _D},
    # uuid1/getnode may run `ip`/`ifconfig` in a subprocess to find a MAC address.
    "uuid": {"uuid1": _D, "getnode": _D},
    # reset_tzpath points the zone loader at arbitrary directories.
    "zoneinfo": {"reset_tzpath": _D},
    # The pytest shim: only what proves or disproves behaviour; skip/xfail/mark/importorskip
    # are ways to make a failing test look green, fixtures and parametrize need decorators.
    "pytest": {"raises": _A, "approx": _A, "fail": _A, "*": _D},
    "pydantic": {"Field": _A, "*": _D},
}

# Why a DENIED member is denied, shown in findings.
MEMBER_REASONS: dict[str, str] = {
    "io": "only in-memory buffers (StringIO, BytesIO) are allowed without file access",
    "typing": "it evaluates annotation strings, which is eval in disguise",
    "functools": "singledispatch registration evaluates annotations, which is eval in "
    "disguise",
    "string": "Formatter walks attributes named inside a runtime string",
    "uuid": "it may run a subprocess to find the MAC address; use uuid4",
    "zoneinfo": "it points the zone loader at arbitrary directories",
    "pytest": "tests may use pytest.raises, pytest.approx and pytest.fail only; skip, "
    "xfail, mark, fixtures and importorskip can make a failing test look green",
    "pydantic": "tools may use pydantic.Field only, to state preconditions in "
    "Annotated[..., Field(...)] (allow pydantic in allowed_imports for the rest)",
}

# Parameter names through which a standard-library callable takes a file system path.
# A member whose signature (a class: its constructor or any public method) has one is file
# access, whatever the keyword or position the path is given in: `canonicalize(from_file=)`,
# `ElementTree(root).write(path)`, `shlex.shlex().sourcehook(path)`, `gzip.open(path)`.
PATH_PARAMETERS = frozenset({
    "file", "files", "filename", "filenames", "filepath", "file_or_filename", "from_file",
    "fname", "path", "paths", "pathname", "dirname", "dir", "root_dir", "newfile", "infile",
    "outfile", "database", "source", "src", "dst",
})  # fmt: skip
# Reviewed exceptions: (callable, parameter) pairs where the name does not mean a path.
NOT_A_PATH: dict[tuple[str, str], str] = {
    ("xml.etree.ElementTree.Element.find", "path"): "an ElementPath expression",
    ("xml.etree.ElementTree.Element.findall", "path"): "an ElementPath expression",
    ("xml.etree.ElementTree.Element.findtext", "path"): "an ElementPath expression",
    ("xml.etree.ElementTree.Element.iterfind", "path"): "an ElementPath expression",
    ("urllib.parse.ParseResult", "path"): "the path component of a URL",
    ("urllib.parse.ParseResultBytes", "path"): "the path component of a URL",
    ("urllib.parse.SplitResult", "path"): "the path component of a URL",
    ("urllib.parse.SplitResultBytes", "path"): "the path component of a URL",
    ("shlex.shlex", "infile"): "a name shown in error messages (sourcehook opens files)",
    ("shlex.shlex.error_leader", "infile"): "a name shown in error messages",
    ("xml.dom.minidom.Document.loadXML", "source"): "not implemented: always raises",
    ("xml.dom.minidom.DocumentLS.loadXML", "source"): "not implemented: always raises",
}


def _path_parameter(qualname: str, target: Any) -> str | None:
    import inspect

    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):  # no signature: C functions without text signatures
        return None
    for name in parameters:
        if name in PATH_PARAMETERS and (qualname, name) not in NOT_A_PATH:
            return name
    return None


@functools.cache
def file_parameter(module: str, member: str) -> str | None:
    """How `module.member` takes a file path ("write(file_or_filename)"), or None.

    Found from signatures: a function's own; a class's constructor and public methods. Only
    standard-library modules are inspected (importing one runs no third-party code); for
    others nothing is known and None is returned.
    """
    import importlib
    import inspect
    import sys
    import warnings

    if module.partition(".")[0] not in sys.stdlib_module_names or member.startswith("_"):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            obj = getattr(importlib.import_module(module), member, None)
        except Exception:  # a stdlib module unavailable on this build (e.g. lzma)
            return None
    if obj is None or inspect.ismodule(obj) or not callable(obj):
        return None
    qualname = f"{module}.{member}"
    found = _path_parameter(qualname, obj)
    if found is not None:
        return f"{member}({found})"
    if inspect.isclass(obj):
        for name in dir(obj):
            method = getattr(obj, name, None) if not name.startswith("_") else None
            if callable(method):
                found = _path_parameter(f"{qualname}.{name}", method)
                if found is not None:
                    return f"{member}.{name}({found})"
    return None


def rule_for(module: str, extra: tuple[str, ...] = ()) -> tuple[str, Access] | None:
    """The longest `MODULE_RULES` (or `extra`, as ALLOWED) entry covering `module`."""
    best: tuple[str, Access] | None = None
    for name, access in [*MODULE_RULES.items(), *((e, _A) for e in extra)]:
        if (module == name or module.startswith(name + ".")) and (
            best is None or len(name) > len(best[0])
        ):
            best = (name, access)
    return best


class SafetyPolicy(BaseModel):
    """The `[policy]` table of toolforge.toml: what a library lets its tools do."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_imports: list[str] = Field(
        default_factory=list,
        description="extra top-level modules the library's tools may import (with submodules)",
    )
    allow_file_access: bool = Field(
        default=False,
        description="open(), pathlib, os.path, ...; the sandbox keeps it inside the work dir",
    )
    allow_network: bool = Field(default=False, description="socket, http.client, urllib.request")

    @field_validator("allowed_imports")
    @classmethod
    def _no_escape_hatches(cls, value: list[str]) -> list[str]:
        for name in value:
            parts = name.split(".")
            if not all(part.isidentifier() for part in parts):
                raise ValueError(f"{name!r} is not a module name")
            if parts[0].startswith("_"):
                raise ValueError(f"{name!r}: private modules cannot be allowed")
            match = rule_for(name)
            if match is not None and match[1] is _D:
                raise ValueError(f"{name!r} cannot be allowed: {HARD_DENIED_IMPORTS[match[0]]}")
            if match is not None and match[1] in (_F, _N):
                flag = "allow_file_access" if match[1] is _F else "allow_network"
                raise ValueError(f"{name!r} is enabled by {flag}, not by allowed_imports")
        return value

    def grants(self, access: Access) -> bool:
        return (
            access is _A
            or (access is _F and self.allow_file_access)
            or (access is _N and self.allow_network)
        )

    def module_access(self, module: str, *, is_test: bool = False) -> tuple[bool, str]:
        """Whether `module` may be imported, and the reason in plain English when not."""
        if module.split(".")[0].startswith("_") and module != "__future__":
            return False, f"{module} is a private (implementation) module"
        extra = tuple(self.allowed_imports) + (TEST_IMPORTS if is_test else ())
        root = module.partition(".")[0]
        if is_test and root in TEST_DENIED_IMPORTS:
            return False, f"{module} is not allowed in tests: {TEST_DENIED_IMPORTS[root]}"
        match = rule_for(module, extra)
        if match is None:
            return False, f"{module} is not in the import allow-list"
        if match[1] is _D:
            return False, f"{module} is never allowed: {HARD_DENIED_IMPORTS[match[0]]}"
        if not self.grants(match[1]):
            flag = "allow_file_access" if match[1] is _F else "allow_network"
            return False, f"{module} needs `{flag} = true` in the library policy"
        return True, ""

    def leads_to_allowed(self, package: str, *, is_test: bool = False) -> bool:
        """Whether `package` is a parent of an allowed module (`xml.etree` of its ElementTree)."""
        prefix = package + "."
        extra = tuple(self.allowed_imports) + (TEST_IMPORTS if is_test else ())
        candidates = [name for name in (*MODULE_RULES, *extra) if name.startswith(prefix)]
        return any(self.module_access(name, is_test=is_test)[0] for name in candidates)

    def member_access(self, module: str, member: str) -> tuple[bool, str]:
        """Whether `module.member` may be used (module itself already allowed)."""
        if module in CONTRACT_IMPORTS and module in self.allowed_imports:
            return True, ""
        rules = MEMBER_RULES.get(module, {})
        access = rules.get(member, rules.get("*", _A))
        if access is _A and not self.allow_file_access:
            takes = file_parameter(module, member)
            if takes is not None:
                return False, (f"{module}.{member} opens files ({takes} takes a path): "
                               "it needs `allow_file_access = true` in the library policy")
        if access is _D:
            why = MEMBER_REASONS.get(module, "it reaches outside the sandbox")
            return False, f"{module}.{member} is not allowed: {why}"
        if not self.grants(access):
            flag = "allow_file_access" if access is _F else "allow_network"
            return False, f"{module}.{member} needs `{flag} = true` in the library policy"
        return True, ""

    @classmethod
    def from_toml_table(cls, table: dict[str, Any] | None) -> SafetyPolicy:
        """Build from the `[policy]` table; keys may use `-` or `_`."""
        data = {str(key).replace("-", "_"): value for key, value in (table or {}).items()}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'policy'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(
                f"invalid [policy] table in toolforge.toml: {problems}",
                hint="keys: allowed_imports (list of module names), allow_file_access, "
                "allow_network (booleans)",
            )


__all__ = [
    "CONTRACT_IMPORTS",
    "DEFAULT_ALLOWED_IMPORTS",
    "FILE_IMPORTS",
    "HARD_DENIED_IMPORTS",
    "MEMBER_REASONS",
    "MEMBER_RULES",
    "MODULE_RULES",
    "NETWORK_IMPORTS",
    "NOT_A_PATH",
    "PATH_PARAMETERS",
    "TEST_DENIED_IMPORTS",
    "TEST_IMPORTS",
    "Access",
    "SafetyPolicy",
    "file_parameter",
    "rule_for",
]
