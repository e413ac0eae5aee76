import math


def arrhenius_rate(pre_factor: float, activation_energy: float, temperature_k: float) -> float:
    """Rate constant from the Arrhenius equation, k = A·exp(−Ea / (R·T)).

    Args:
        pre_factor: pre-exponential factor A (unit of k).
        activation_energy: activation energy in J/mol.
        temperature_k: temperature in K.

    Returns:
        The rate constant, in the unit of A.
    """
    return pre_factor * math.exp(-activation_energy / (8.314462618 * temperature_k))
