"""What a library's policy opens in the sandbox: third-party imports and the network.

The static checker decides what tool code may *say* (`[policy]` in toolforge.toml); this
module makes the sandbox honour it, or refuses the policy up front:

- `allowed_imports` naming a third-party package: the directory that holds it in the
  running environment (its site-packages, or wherever an editable install put it) becomes
  visible read-only inside the sandbox and goes on the sandbox's `sys.path`. Nothing else of
  the environment is visible, and without such an import site-packages stays hidden.
- `allow_network = true`: the sandbox gets the host's network (TCP/UDP over IPv4/IPv6, DNS
  configuration and CA certificates readable); Unix and abstract sockets stay closed.

A package that is not installed here is refused when the settings are read (`AccessError`,
a `ConfigError`), not discovered as "No module named ..." in the middle of a test run.
"""

from __future__ import annotations

import functools
import importlib.machinery
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from toolforge.errors import ConfigError

# Read-only files a sandbox with network needs: name resolution and TLS trust anchors.
NETWORK_FILES = (
    "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf",
    "/etc/host.conf", "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/ca-certificates",
    "/etc/pki", "/usr/share/ca-certificates", "/usr/lib/ssl",
)  # fmt: skip
# Environment passed to a sandbox that imports third-party packages: numeric libraries must
# not start a thread per core (threads count against the process limit), and OpenBLAS
# needs the core type some machines pin (older builds crash or compute wrongly without it).
_PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1"}


class AccessError(ConfigError):
    """A policy the sandbox cannot honour; the message names the setting and the reason."""


@dataclass(frozen=True)
class Access:
    """What one sandbox may reach beyond the interpreter and its own work dir."""

    network: bool = False
    import_paths: tuple[str, ...] = ()  # host directories, read-only, appended to sys.path

    @property
    def default(self) -> bool:
        return not self.network and not self.import_paths

    def environment(self) -> dict[str, str]:
        """Variables the sandboxed interpreter gets on top of an empty environment."""
        if not self.import_paths:
            return {}
        passed = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        return {**_THREAD_ENV, **passed}

    def statements(self) -> list[str]:
        """What the report says about this access (empty for the default)."""
        said = []
        if self.network:
            said.append("policy allow_network = true: the sandbox HAS network access "
                        "(TCP/UDP over IPv4/IPv6; Unix sockets stay closed)")
        if self.import_paths:
            said.append("policy allowed_imports: third-party packages visible read-only from "
                        + ", ".join(self.import_paths))
        return said


NO_ACCESS = Access()


def access_for(allowed_imports: Iterable[str], allow_network: bool) -> Access:
    """The access a library policy needs; raises AccessError for one that cannot be met."""
    return _access_for(tuple(sorted(set(allowed_imports))), bool(allow_network))


@functools.cache
def _access_for(allowed_imports: tuple[str, ...], allow_network: bool) -> Access:
    paths: list[str] = []
    for name in allowed_imports:
        top = name.split(".")[0]
        if top in sys.stdlib_module_names:
            continue  # the interpreter's own standard library is always there
        if top == "toolforge":
            raise AccessError("[policy] allowed_imports: toolforge itself is never importable "
                              "in its sandbox", hint="remove it from allowed_imports")
        where = _location(top)
        if where is None:
            raise AccessError(
                f"[policy] allowed_imports: {top!r} is not installed in this environment "
                f"({sys.prefix}), so a tool could not import it in the sandbox",
                hint=f"install it (`{sys.executable} -m pip install {top}`), or remove it "
                "from allowed_imports in toolforge.toml",
            )
        if where not in paths:
            paths.append(where)
    return Access(network=allow_network, import_paths=tuple(paths))


def _location(top: str) -> str | None:
    """The sys.path directory that holds top-level package or module `top` (not imported).

    The working directory is never a candidate: it may be a library or a repository.
    """
    here = os.path.realpath(os.getcwd())
    for entry in sys.path:
        if not entry or not os.path.isdir(entry) or os.path.realpath(entry) == here:
            continue
        spec = importlib.machinery.PathFinder.find_spec(top, [entry])
        if spec is not None and (spec.origin or spec.submodule_search_locations):
            return os.path.realpath(entry)
    return None
