def spring_force(spring_constant: float, extension: float) -> float:
    """Restoring force of an ideal spring (Hooke's law, F = -k·x).

    Args:
        spring_constant: stiffness in N/m.
        extension: displacement from rest in m.

    Returns:
        The force in N (opposite to the extension).
    """
    return -spring_constant * extension
