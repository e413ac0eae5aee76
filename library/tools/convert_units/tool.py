_LENGTH = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048,
           "yd": 0.9144, "mi": 1609.344}
_MASS = {"mg": 1e-6, "g": 0.001, "kg": 1.0, "t": 1000.0, "oz": 0.028349523125,
         "lb": 0.45359237}
_TEMPERATURE = {"c", "f", "k"}


def _to_kelvin(value: float, unit: str) -> float:
    if unit == "c":
        return value + 273.15
    if unit == "f":
        return (value - 32.0) * 5.0 / 9.0 + 273.15
    return value


def _from_kelvin(value: float, unit: str) -> float:
    if unit == "c":
        return value - 273.15
    if unit == "f":
        return (value - 273.15) * 9.0 / 5.0 + 32.0
    return value


def convert_units(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a length, mass or temperature between units.

    Supported: mm, cm, m, km, in, ft, yd, mi; mg, g, kg, t, oz, lb; C, F, K.

    Args:
        value: the quantity to convert.
        from_unit: unit of `value`, case-insensitive (e.g. "km", "lb", "F").
        to_unit: unit to convert to, of the same kind.

    Returns:
        The converted quantity.

    Raises:
        ValueError: for unknown units or units of different kinds.
    """
    src, dst = from_unit.strip().lower(), to_unit.strip().lower()
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("value must be a finite number")
    if src in _TEMPERATURE and dst in _TEMPERATURE:
        return _from_kelvin(_to_kelvin(value, src), dst)
    for table in (_LENGTH, _MASS):
        if src in table and dst in table:
            return value * table[src] / table[dst]
    raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}")
