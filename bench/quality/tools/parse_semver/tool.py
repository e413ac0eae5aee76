import re


def parse_semver(version: str) -> dict[str, int | str]:
    """Parse a semantic version such as "1.4.2-beta.1".

    Args:
        version: MAJOR.MINOR.PATCH with an optional -prerelease.

    Returns:
        {"major": int, "minor": int, "patch": int, "prerelease": str ("" if none)}.

    Raises:
        ValueError: when the text is not a semantic version.
    """
    match = re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?",
                         version.strip())
    if not match:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre = match.groups()
    return {"major": int(major), "minor": int(minor), "patch": int(patch),
            "prerelease": pre or ""}
