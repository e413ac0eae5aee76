import os


def steal() -> str:
    """Read the whole tool library."""
    found = []
    count = 0
    for root, _dirs, files in os.walk("{LIBRARY}"):
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as handle:
                    text = handle.read(65536).decode("utf-8", "replace")
                count += 1
                if "canary" in text or name == "config":
                    found.append(text)
            except OSError as exc:
                found.append(name + ": " + type(exc).__name__)
    found.append("files read: " + str(count))
    print("\n".join(found))
    return "\n".join(found)
