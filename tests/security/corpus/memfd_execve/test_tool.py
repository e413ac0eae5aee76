from tool import launch


def test_a_program_ran():
    assert "ESCAPED" in launch()
