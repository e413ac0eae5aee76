"""Run a command as on a machine without user namespaces (and, with --no-landlock, without
Landlock either): a seccomp filter makes unshare/setns/clone(CLONE_NEWUSER) fail with EPERM
(what AppArmor's `apparmor_restrict_unprivileged_userns` or Docker's seccomp profile do to
bubblewrap) and the landlock syscalls answer ENOSYS (an old kernel), then execs the command.

    python tests/helpers/restricted.py [--no-landlock] -- COMMAND [ARGS...]
"""

from __future__ import annotations

import errno
import os
import sys

import pyseccomp as sc

CLONE_NEWUSER = 0x10000000


def main(argv: list[str]) -> None:
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    flt = sc.SyscallFilter(sc.ALLOW)
    if os.geteuid() == 0:
        flt.set_attr(sc.Attr.CTL_NNP, 0)  # root may filter without no_new_privs
    for name in ("unshare", "setns"):
        flt.add_rule(sc.ERRNO(errno.EPERM), name)
    flt.add_rule(sc.ERRNO(errno.EPERM), "clone",
                 sc.Arg(0, sc.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    if "--no-landlock" in options:
        for name in ("landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"):
            flt.add_rule(sc.ERRNO(errno.ENOSYS), name)
    flt.load()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
