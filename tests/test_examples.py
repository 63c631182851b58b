"""Every script in examples/ runs (on a tiny budget), so none of them rots. The docs build runs them at their full
budget, as the gallery (docs/conf.py: sphinx_gallery_conf)."""
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXPECT = {  # what each prints
    "accelerate_loop.py": "accelerate: test accuracy", "async_schedule.py": "async: 2 workers",
    "compare_rules_seeds.py": "predsim", "csv_data.py": "predictions:",
    "custom_sequential.py": "bp: test accuracy", "estimator_library.py": "I(noise; y)",
    "every_rule.py": "forward-forward",
    "few_labels.py": "MOLE, every sample", "gnn_own_graph.py": "test accuracy on",
    "graph_collection.py": "mole: test accuracy on 80 graphs", "karate_club.py": "mole: test accuracy on 30 members",
    "lightning_loop.py": "lightning: test accuracy",
    "mole_vs_backprop.py": "bp: test accuracy", "own_dataset_and_module.py": "MOLE's modules",
    "what_each_layer_learned.py": "linear-probe test accuracy",
}


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECT)


def test_every_example_has_a_gallery_title():
    """sphinx-gallery takes each page's title from the docstring's first line, underlined with '='."""
    for path in EXAMPLES.glob("*.py"):
        lines = path.read_text().splitlines()
        assert lines[0] == '"""' and lines[2] == "=" * len(lines[1]), path.name


@pytest.fixture
def agg():
    """Figures drawn without a display (plt.show() returns at once), closed after each example."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    yield
    plt.close("all")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.process) if n == "async_schedule.py" else n
                                  for n in sorted(EXPECT)])
def test_example_runs(name, agg, one_thread, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MOLE_EXAMPLE_EPOCHS", "2")
    monkeypatch.setenv("MOLE_EXAMPLE_DIR", str(tmp_path))
    monkeypatch.setenv("MOLE_EXAMPLE_SEEDS", "2")
    monkeypatch.setattr(sys, "argv", [name])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert EXPECT[name] in capsys.readouterr().out
    import matplotlib.pyplot as plt
    assert plt.get_fignums(), f"{name} draws no figure"
