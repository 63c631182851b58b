"""Every script in examples/ runs (on a tiny budget), so none of them rots."""
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXPECT = {"csv_data.py": "predictions:", "custom_sequential.py": "bp: test accuracy", "gnn_own_graph.py": "test accuracy on",
          "estimator_library.py": "I(noise; y)", "compare_rules_seeds.py": "predsim"}


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECT)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_runs(name, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MOLE_EXAMPLE_EPOCHS", "2")
    monkeypatch.setenv("MOLE_EXAMPLE_DIR", str(tmp_path))
    monkeypatch.setenv("MOLE_EXAMPLE_SEEDS", "2")
    monkeypatch.setattr(sys, "argv", [name])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert EXPECT[name] in capsys.readouterr().out
