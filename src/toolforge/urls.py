"""URLs shown to people: without the credentials they may carry.

A queue URL (`redis://:password@host`, `?password=`) or a git remote
(`https://user:token@host/repo.git`) is configuration, but messages, status files, event
streams and `--json` output are read, logged and pasted into issues. They show the URL with
its secrets replaced by `***`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# Query parameters that may carry a secret.
SECRET_PARAM = re.compile(r"pass|secret|token|key|auth", re.IGNORECASE)


def public_url(url: str) -> str:
    """`url` without its credentials, for messages, logs and status files: the password
    of the user part, and query parameters that carry one (redis-py reads
    `?password=...`)."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        netloc = parts.netloc
        host = parts.netloc.rpartition("@")[2]  # as written: [v6] addresses, a port
        if parts.password is not None:
            netloc = (f"{parts.username}:***@" if parts.username else ":***@") + host
        elif parts.username and parts.scheme.lower() in ("http", "https"):
            # `https://<token>@host/...`: hosts take a bare token as the user name.
            netloc = "***@" + host
    except ValueError:  # not even a URL (bad brackets...): nothing of it is safe to show
        return "<unparsable URL>"
    if netloc == parts.netloc and not any(SECRET_PARAM.search(k) for k, _ in query):
        return url
    shown = "&".join(f"{k}=***" if SECRET_PARAM.search(k) else f"{k}={v}" for k, v in query)
    text = urlunsplit((parts.scheme, netloc, parts.path, shown, parts.fragment))
    if not netloc:  # unix:///path: urlunsplit drops the empty authority
        text = text.replace(f"{parts.scheme}:", f"{parts.scheme}://", 1)
    return text
