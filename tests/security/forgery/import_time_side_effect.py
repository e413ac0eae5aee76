"""A default value runs at import and changes the process every test runs in.

caught_by: static TF409
"""
import decimal

from tool import add


def helper(context=decimal.setcontext(decimal.Context(prec=1))):
    return context


def test_two_and_two():
    assert decimal.Decimal(add(2, 2)) == decimal.Decimal(4)
