def hydronium_from_ph(ph: float) -> float:
    """Hydronium ion concentration from a pH.

    Args:
        ph: the pH.

    Returns:
        [H3O+] in mol/L.
    """
    return 10.0 ** (-ph)
