import math


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points on Earth.

    Args:
        lat1 (-90 <= lat <= 90): first latitude in degrees.
        lon1 (-180 <= lon <= 180): first longitude in degrees.
        lat2 (-90 <= lat <= 90): second latitude in degrees.
        lon2 (-180 <= lon <= 180): second longitude in degrees.

    Returns:
        The distance in km (Earth radius 6371 km).
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))
