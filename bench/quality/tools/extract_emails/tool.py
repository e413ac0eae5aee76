import re


def extract_emails(text: str) -> list[str]:
    """E-mail addresses in a text, lower-cased, in order of first appearance, once each.

    Args:
        text: any text.

    Returns:
        The addresses.
    """
    seen: list[str] = []
    for address in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text):
        address = address.lower()
        if address not in seen:
            seen.append(address)
    return seen
