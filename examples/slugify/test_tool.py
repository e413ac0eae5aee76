from tool import slugify


def test_ampersand_reads_and():
    assert slugify("Salt & Pepper") == "salt-and-pepper"


def test_ampersand_alone():
    assert slugify("&") == "and"


def test_words_and_accents():
    assert slugify("Crème brûlée & café") == "creme-brulee-and-cafe"
