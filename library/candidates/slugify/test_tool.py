from tool import slugify


def test_basic():
    assert slugify("Hello, World!") == "hello-world"


def test_accents():
    assert slugify("Crème brûlée à Paris") == "creme-brulee-a-paris"


def test_empty():
    assert slugify("!!!") == ""


def test_max_length_cuts_at_word():
    assert slugify("one two three four", max_length=9) == "one-two"
