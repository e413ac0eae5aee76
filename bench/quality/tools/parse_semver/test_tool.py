from tool import parse_semver


def test_example():
    assert parse_semver("1.4.2-beta.1") == {'major': 1, 'minor': 4, 'patch': 2, 'prerelease': 'beta.1'}
