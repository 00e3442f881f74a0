from betrue.config._markdown import cell, table


def test_table_pads_every_column_to_its_widest_cell() -> None:
    assert table(["a", "long header"], [["wide value", ""], ["x", "y"]]) == (
        "| a          | long header |\n"
        "|------------|-------------|\n"
        "| wide value |             |\n"
        "| x          | y           |"
    )


def test_cells_stay_on_one_line_and_escape_pipes() -> None:
    assert cell("a|b\nc") == "a\\|b c"
    assert table(["h"], [["a|b"]]).splitlines()[2] == "| a\\|b |"


def test_table_without_rows_is_header_and_separator() -> None:
    assert table(["env", "type"], []) == "| env | type |\n|-----|------|"
