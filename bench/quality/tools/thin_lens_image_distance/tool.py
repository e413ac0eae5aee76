def thin_lens_image_distance(focal_length: float, object_distance: float) -> float:
    """Image distance from the thin-lens equation 1/f = 1/do + 1/di.

    Args:
        focal_length: focal length in m.
        object_distance: object distance in m.

    Returns:
        The image distance in m (negative for a virtual image).

    Raises:
        ValueError: when the object sits at the focal point.
    """
    if object_distance == focal_length:
        raise ValueError("object at the focal point: the image is at infinity")
    return 1.0 / (1.0 / focal_length - 1.0 / object_distance)
