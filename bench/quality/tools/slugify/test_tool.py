from tool import slugify


def test_example():
    assert slugify("Hello, World: Part 2!") == 'hello-world-part-2'
