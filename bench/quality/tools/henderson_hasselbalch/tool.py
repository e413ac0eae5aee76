import math


def henderson_hasselbalch(pka: float, base_concentration: float,
                          acid_concentration: float) -> float:
    """pH of a buffer (Henderson–Hasselbalch equation).

    Args:
        pka: pKa of the weak acid.
        base_concentration: concentration of the conjugate base.
        acid_concentration: concentration of the acid, same unit.

    Returns:
        The pH.
    """
    return pka + math.log10(base_concentration / acid_concentration)
