"""Figures: `mole run` writes three labelled PNGs; `mole plot` redraws them from results.json alone."""
import json
import shutil

import numpy as np
import pytest
from matplotlib.image import imread

from mole.cli import main
from mole.plots import plot_curves, plot_information_plane, plot_tsne

RUN = ["run", "--dataset", "digits", "--hidden", "24,16", "--epochs", "3", "--monitor-every", "1",
       "--monitor-samples", "120", "--tsne-samples", "60", "-q"]
FIGURES = ("tsne.png", "information_plane.png", "curves.png")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "run"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


def test_run_writes_valid_pngs(run_dir):
    for name in FIGURES:
        data = (run_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        img = imread(run_dir / name)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300 and img.std() > 0.05, name


def test_tsne_layout_is_methods_by_layers(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    fig = plot_tsne(results)
    axes = fig.axes
    assert len(axes) == 2 * 4  # (mole, bp) x (input, 3 modules)
    assert [ax.get_title().split("\n")[0] for ax in axes[:4]] == ["input", "module 1", "module 2", "module 3 (head)"]
    assert axes[0].get_ylabel().startswith("MOLE") and axes[4].get_ylabel() == "backprop"
    assert all(len(ax.collections) == 10 for ax in axes)  # one scatter per digit class
    assert len(fig.legends) == 1 and fig.get_suptitle()
    for run in results["runs"]:
        emb = run["embedding"]
        assert emb["split"] == "test" and len(emb["labels"]) == 60
        assert all(np.asarray(p).shape == (60, 2) for p in emb["panels"])
    img = imread(run_dir / "tsne.png")
    w, h = fig.get_size_inches() * 110
    assert img.shape[:2] == (round(h), round(w))


def test_information_plane_and_curves_are_labelled(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    fig = plot_information_plane(results)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_xlabel() == "I(T; X) [bits]" and ax.get_ylabel() == "I(T; Y) [bits]"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["module 1", "module 2", "module 3 (head)"]
    fig = plot_curves(results)
    assert len(fig.axes) == 4 and fig.axes[3].get_ylabel().startswith("linear-probe")
    curve = fig.axes[0]  # accuracy per epoch, one line per method
    assert curve.get_ylabel() == "test accuracy [%]" and len(curve.get_lines()) == len(results["runs"])
    assert [t.get_text() for t in curve.get_legend().get_texts()] == ["MOLE (renyi)", "backprop"]
    assert all(ax.get_title() for ax in fig.axes)


def test_results_record_information_and_probes(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    for run in results["runs"]:
        assert 0 <= run["input_probe_accuracy"] <= 1
        for m in run["modules"]:
            assert {"I_TX", "I_TY", "probe_accuracy", "information"} <= set(m)
            assert [p["epoch"] for p in m["information"]] == [0, 1, 2, 3]
            assert m["I_TY"] == m["information"][-1]["I_TY"]
        assert run["analysis_seconds"] > 0 and run["monitor"]["samples"] == 120
        # throughput counts training only, not the monitor's measurements inside the loop
        assert run["samples_per_second"] * run["train_seconds"] >= 0.8 * run["epochs"] * results["data"]["n_train"]


def test_plot_redraws_identical_figures(run_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    for name in FIGURES:
        (copy / name).unlink()
    assert main(["plot", str(copy)]) == 0
    assert capsys.readouterr().out.count("wrote") == 3
    for name in FIGURES:
        assert np.array_equal(imread(copy / name), imread(run_dir / name)), name


def test_no_plots_skips_figures_and_plot_draws_what_it_can(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*RUN, "--methods", "mole", "--no-plots", "--out", str(out)]) == 0
    assert not any((out / name).exists() for name in FIGURES)
    assert "probe" in capsys.readouterr().out  # probes are metrics, not plots: still printed
    assert main(["plot", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skipped tsne.png" in printed
    assert (out / "information_plane.png").exists() and not (out / "tsne.png").exists()


def test_plot_errors_are_one_line(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mole: error:") and "results.json" in err and "\n" not in err
    (tmp_path / "results.json").write_text("{not json")
    assert main(["plot", str(tmp_path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_default_run_last_hidden_module_probes_better_than_the_input(tmp_path, capsys):
    """The issue's acceptance check on the default digits run (MOLE only, no figures)."""
    out = tmp_path / "run"
    assert main(["run", "--methods", "mole", "--no-plots", "--monitor-every", "0", "-q", "--out", str(out)]) == 0
    assert "module 2" in capsys.readouterr().out
    mole_run = json.loads((out / "results.json").read_text())["runs"][0]
    assert mole_run["modules"][-2]["probe_accuracy"] > mole_run["input_probe_accuracy"] + 0.01
