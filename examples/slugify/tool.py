import re
import unicodedata


def slugify(text: str, max_length: int = 64) -> str:
    """Turn a title into a URL slug: lowercase ASCII words joined by hyphens; "&" reads "and".

    Args:
        text: the title, any unicode.
        max_length: longest slug to return (cut at a word boundary when possible).

    Returns:
        The slug; empty when the text has no letters or digits.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower().replace("&", " and "))
    slug = "-".join(words)
    if len(slug) > max_length > 0:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug
