def uniform_acceleration(initial_velocity: float, final_velocity: float, duration: float) -> float:
    """Constant acceleration between two velocities.

    Args:
        initial_velocity: starting velocity in m/s.
        final_velocity: final velocity in m/s.
        duration: time taken in s.

    Returns:
        The acceleration in m/s².
    """
    return (final_velocity - initial_velocity) / duration
