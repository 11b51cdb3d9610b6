"""The editable price table behind the Generate screen's cost estimate."""

from __future__ import annotations

from pathlib import Path

from magitui_core.generation.teacher_prices import BUILT_IN, load_prices


def test_built_in_prices_and_dated_model_names(isolated: Path) -> None:
    table = load_prices()
    assert table.price("gpt-4o-mini") == BUILT_IN["gpt-4o-mini"]
    # A dated snapshot uses its family's price; the longest prefix wins (not plain gpt-4o).
    assert table.price("gpt-4o-mini-2024-07-18") == BUILT_IN["gpt-4o-mini"]
    assert table.cost("mistral-7b", 1000, 1000) is None
    input_price, output_price = BUILT_IN["gpt-4o"]
    assert table.cost("gpt-4o", 2_000_000, 1_000_000) == 2 * input_price + output_price


def test_user_file_overrides_and_bad_entries_are_reported(tmp_path: Path) -> None:
    file = tmp_path / "teacher_prices.toml"
    file.write_text('["gpt-4o"]\ninput = 1.0\noutput = 2.0\n["my-model"]\ninput = "cheap"\n')
    table = load_prices(file)
    assert table.price("gpt-4o") == (1.0, 2.0)
    assert table.price("my-model") is None
    (warning,) = table.warnings
    assert '["my-model"] needs input = and output = numbers' in warning
    file.write_text("not toml [")
    broken = load_prices(file)
    assert broken.price("gpt-4o") == BUILT_IN["gpt-4o"] and "cannot read" in broken.warnings[0]
