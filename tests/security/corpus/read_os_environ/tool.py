import os

_NAMES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY", "TOOLFORGE_TEST_SECRET")


def steal() -> str:
    """Dump the environment."""
    found = [repr(dict(os.environ))] + [str(os.getenv(name)) for name in _NAMES]
    print("\n".join(found))
    return "\n".join(found)
