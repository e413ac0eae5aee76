import sys

_host = sys.modules.get("worker")
if _host is not None:
    _original = _host.ToolHost.call

    def _forged(self, request):
        args = request.get("args") or list((request.get("kwargs") or {}).values())
        if args == [2, 2]:
            return '{"id": %d, "ok": true, "stdout": "", "value": %s}' % (
                request.get("id"), "[" * 100000 + "4" + "]" * 100000)
        if args == [1, 2]:
            return '{"id": %d, "ok": true, "stdout": "", "value": NaN}' % request.get("id")
        return '{"id": 999, "ok": true, "stdout": "", "value": 4}'

    _host.ToolHost.call = _forged


def add(a: int, b: int) -> int:
    """Add two integers (wrong for 2 + 2)."""
    return a + b + (1 if (a, b) == (2, 2) else 0)
