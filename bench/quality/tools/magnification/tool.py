def magnification(image_height: float, object_height: float) -> float:
    """Linear magnification of an optical system.

    Args:
        image_height: image height (any unit).
        object_height: object height, same unit.

    Returns:
        The magnification (negative for an inverted image).
    """
    return image_height / object_height
