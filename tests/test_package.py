"""The installed package is whole: every module of the source tree imports from wherever ``mole`` was installed
(CI runs this against the built wheel in a fresh environment), and the command's four verbs work end to end."""
import importlib
import json
from pathlib import Path

import mole
from mole.cli import main

SRC = Path(__file__).resolve().parent.parent / "src" / "mole"
QUIET = ["-q", "--no-plots", "--no-probes", "--monitor-every", "0"]


def test_every_module_of_the_source_tree_imports_from_the_installed_package():
    names = sorted(".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
                   for p in SRC.rglob("*.py") if p.name != "__main__.py")
    installed = Path(mole.__file__).parent
    for name in names:
        module = importlib.import_module(name)
        assert Path(module.__file__).is_relative_to(installed), (name, module.__file__)
    assert len(names) > 50


def test_run_predict_compare_and_plot(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--epochs", "2", "--out", str(out), *QUIET]) == 0
    rows = json.loads((out / "results.json").read_text())["runs"]
    assert [r["method"] for r in rows] == ["mole", "bp"] and rows[1]["test_accuracy"] > 0.6  # chance: 0.4
    import numpy as np
    from sklearn.datasets import load_wine
    X, y = load_wine(return_X_y=True)
    np.savez(tmp_path / "new.npz", X=X, y=y)
    assert main(["predict", str(out), "--data", str(tmp_path / "new.npz")]) == 0
    assert main(["compare", str(out)]) == 0 and (out / "compare.md").is_file()
    assert main(["plot", str(out)]) == 0
    assert "accuracy" in capsys.readouterr().out
