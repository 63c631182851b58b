"""`mole run`: the results.json contract and one-line errors with exit code 2."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from mole.cli import main

FAST = ["--epochs", "2", "-q", "--no-plots", "--monitor-every", "0"]  # figures: tests/test_plots.py
FULL = ["--epochs", "2", "-q"]


def test_run_writes_results_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--out", str(out), *FULL]) == 0
    printed = capsys.readouterr().out
    assert "method" in printed and "mole" in printed and "bp" in printed
    res = json.loads((out / "results.json").read_text())
    assert {"dataset", "model", "seed", "runs"} <= set(res) and res["dataset"] == "wine"
    assert [r["method"] for r in res["runs"]] == ["mole", "bp"]
    for r in res["runs"]:
        assert {"method", "test_accuracy", "train_seconds", "peak_memory_mb", "epochs", "modules"} <= set(r)
        assert 0 <= r["test_accuracy"] <= 1 and r["epochs"] == 2
        assert [m["index"] for m in r["modules"]] == [0, 1, 2]
        assert all({"index", "layers", "final_loss"} <= set(m) for m in r["modules"])
    assert res["runs"][0]["estimator"]["options"]["alpha"] == 1.01
    assert (out / "config.json").exists() and "mole run" in (out / "command.txt").read_text()
    _check_timings(res, printed, analysed=True)


TIMING_LINE = re.compile(r"time: training ([\d.]+) s, information plane ([\d.]+) s, accuracy per epoch ([\d.]+) s, "
                         r"probes ([\d.]+) s, "
                         r"t-SNE ([\d.]+) s, figures ([\d.]+) s \(analysis (\d+) % of ([\d.]+) s wall\)")


def _check_timings(res: dict, printed: str, analysed: bool) -> None:
    """results.json says how long each part took, the parts fit in the wall time, the CLI prints them."""
    parts = ("train", "information_plane", "accuracy", "probes", "tsne")
    for r in res["runs"]:
        t = r["timings"]
        assert set(t) == set(parts) and all(isinstance(v, float) and v >= 0 for v in t.values())
        assert t["train"] == r["train_seconds"]
        measured = t["information_plane"] + t["accuracy"] + t["probes"] + t["tsne"]
        assert measured <= r["analysis_seconds"] <= measured + 0.5  # analysis_seconds: the same parts
        assert t["probes"] > 0 and (t["tsne"] > 0) == analysed  # --no-plots: no t-SNE, no figures
        assert (t["information_plane"] > 0) == analysed  # --monitor-every 0: no information plane
    total = sum(sum(r["timings"].values()) for r in res["runs"]) + res["figures_seconds"]
    assert 0 < total <= res["wall_seconds"]
    assert (res["figures_seconds"] > 0) == analysed
    line = [x for x in printed.splitlines() if x.startswith("time: ")]
    assert len(line) == 1, printed
    numbers = [float(v) for v in TIMING_LINE.fullmatch(line[0]).groups()]
    expected = [sum(r["timings"][k] for r in res["runs"]) for k in parts] + [res["figures_seconds"]]
    assert numbers[:6] == pytest.approx(expected, abs=0.051)
    assert numbers[7] == pytest.approx(res["wall_seconds"], abs=0.051)
    assert numbers[6] == pytest.approx(100 * sum(expected[1:]) / res["wall_seconds"], abs=0.51)


def test_timings_without_analysis(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--methods", "bp", "--out", str(out), *FAST]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["runs"][0]["timings"]["information_plane"] == 0.0  # --monitor-every 0
    _check_timings(res, capsys.readouterr().out, analysed=False)


def test_finished_run_folder_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--methods", "bp", "--out", str(out), *FAST]) == 0
    assert main(["run", "--dataset", "wine", "--methods", "bp", "--out", str(out), *FAST]) == 2
    assert "already holds a finished run" in capsys.readouterr().err


def one_line_error(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("mole: error:") and match in err, err


@pytest.mark.parametrize("argv, match", [
    (["--dataset", "digts"], "Did you mean 'digits'"),
    (["--model", "mpl"], "Did you mean 'mlp'"),
    (["--methods", "mole,backprop"], "unknown method 'backprop'"),
    (["--schedule", "sequental"], "Did you mean 'sequential'"),
    (["--epochs", "0"], "epochs must be an integer in 1.."),
    (["--estimator", "renyy"], "Did you mean 'renyi'"),
])
def test_bad_names_and_values(capsys, tmp_path, argv, match):
    one_line_error(capsys, ["run", "--out", str(tmp_path / "r"), *FAST, *argv], match)


def test_data_root_without_files(capsys, tmp_path):
    one_line_error(capsys, ["run", "--dataset", "mnist", "--data-root", str(tmp_path), *FAST],
                   "train-images-idx3-ubyte")


def test_nan_features_and_mismatched_labels(capsys, tmp_path):
    X = np.ones((20, 3))
    X[5, 0] = np.nan
    np.savez(tmp_path / "nan.npz", X=X, y=np.arange(20) % 2)
    one_line_error(capsys, ["run", "--dataset", str(tmp_path / "nan.npz"), *FAST], "NaN")
    np.savez(tmp_path / "bad.npz", X=np.ones((20, 3)), y=np.arange(19) % 2)
    one_line_error(capsys, ["run", "--dataset", str(tmp_path / "bad.npz"), *FAST], "19 labels for 20 samples")


@pytest.mark.process
def test_argparse_errors_exit_2_and_help_documents_flags():
    bad = subprocess.run([sys.executable, "-m", "mole.cli", "run", "--sigma", "wide"], capture_output=True, text=True)
    assert bad.returncode == 2 and "sigma" in bad.stderr and "Traceback" not in bad.stderr
    helped = subprocess.run([sys.executable, "-m", "mole.cli", "run", "--help"], capture_output=True, text=True)
    for flag in ["--dataset", "--model", "--methods", "--epochs", "--seed", "--alpha", "--sigma", "--data-root", "--out"]:
        assert flag in helped.stdout


@pytest.mark.parametrize("estimator", ["hsic", "infonce", "jsd"])
def test_every_estimator_runs_and_is_recorded(tmp_path, estimator):
    out = tmp_path / estimator
    assert main(["run", "--dataset", "wine", "--methods", "mole", "--estimator", estimator, "--out", str(out), *FAST]) == 0
    run = json.loads((out / "results.json").read_text())["runs"][0]
    assert run["estimator"]["name"] == estimator and run["estimator"]["options"]
    assert all(m["final_loss"] is not None for m in run["modules"])


def test_option_of_another_estimator_is_refused(capsys, tmp_path):
    one_line_error(capsys, ["run", "--estimator", "infonce", "--alpha", "1.5", "--out", str(tmp_path / "r"), *FAST],
                   "takes no --alpha")


@pytest.mark.parametrize("reduce", ["flatten", "gap", "project"])
def test_cnn_on_digits_images(tmp_path, reduce):
    out = tmp_path / reduce
    assert main(["run", "--dataset", "digits", "--model", "cnn", "--channels", "4,8", "--reduce", reduce,
                 "--project-dim", "16", "--methods", "mole", "--out", str(out), *FAST, "--epochs", "1", "--no-probes",
                 "--accuracy-every", "0"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["model"] == "cnn" and res["data"]["input_shape"] == [1, 8, 8]
    assert res["runs"][0]["modules"][0]["layers"][0].startswith("Conv2d(1→4")


def test_model_defaults_per_dataset(tmp_path):
    from mole.experiment import ExperimentConfig
    assert ExperimentConfig(dataset="digits").validate().model == "mlp"
    assert ExperimentConfig(dataset="mnist1d").validate().model == "cnn"
    assert ExperimentConfig(dataset="mnist").validate().model == "cnn"


def test_node_level_graph_run(tmp_path):
    out = tmp_path / "karate"
    assert main(["run", "--dataset", "karate", "--out", str(out), *FULL]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["model"] == "gcn" and res["data"]["kind"] == "node"
    assert res["runs"][0]["modules"][0]["layers"][0] == "GCNConv(34→16)"
    emb = res["runs"][0]["embedding"]  # node embeddings of the 30 test nodes (larger than the 4 training nodes)
    assert emb["split"] == "test" and len(emb["labels"]) == 30 and len(emb["panels"]) == 1 + 2
    assert (out / "tsne.png").exists() and len(res["runs"][0]["modules"][0]["information"]) == 3


def _tiny_mutag_run(tmp_path, monkeypatch, *flags) -> dict:
    """`mole run` on a 4-graph TU dataset in MUTAG's layout, 2 folds; returns the first run's results."""
    from graphs.test_loading import write_tiny_tu
    root = tmp_path / "data"
    write_tiny_tu(root)
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "mutag"
    assert main(["run", "--dataset", "mutag", "--data-root", str(root), "--folds", "2", "--batch-size", "2",
                 "--out", str(out), *flags]) == 0
    return json.loads((out / "results.json").read_text())["runs"][0]


def test_graph_level_run_with_folds(tmp_path, monkeypatch):
    run = _tiny_mutag_run(tmp_path, monkeypatch, *FAST)
    assert run["folds"] == 2 and len(run["fold_accuracies"]) == 2
    assert run["test_accuracy"] == pytest.approx(sum(run["fold_accuracies"]) / 2)


def test_graph_level_run_draws_pooled_graph_embeddings(tmp_path, monkeypatch):
    run = _tiny_mutag_run(tmp_path, monkeypatch, "--methods", "mole", *FULL)
    assert len(run["embedding"]["labels"]) == 2 and len(run["embedding"]["panels"]) == 1 + 3  # fold 0: 2 graphs
    assert all(len(m["information"]) == 3 for m in run["modules"]) and (tmp_path / "mutag" / "tsne.png").exists()


def test_augment_and_conditional_flags_reach_the_run(tmp_path):
    out = tmp_path / "run"  # digits: 8 x 8 images, which a shift of 3 pixels augments; one epoch records the flags
    assert main(["run", "--dataset", "digits", "--hidden", "16", "--out", str(out), "--augment", "shift",
                 "--augment-pixels", "3", "--weak-augment", "none", "--estimator", "renyi", "--conditional", "average",
                 "--methods", "mole", *FAST, "--epochs", "1", "--no-probes", "--accuracy-every", "0"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["train"]["augment"] == "shift" and cfg["train"]["augment_pixels"] == 3
    assert cfg["train"]["weak_augment"] == "none" and cfg["train"]["weak_augment_pixels"] is None
    res = json.loads((out / "results.json").read_text())
    assert res["runs"][0]["estimator"]["options"]["conditional"] == "average"


@pytest.mark.parametrize("argv,message", [
    (["--augment", "shift"], "augment 'shift' needs signals"),  # wine holds vectors
    (["--augment", "shfit"], "invalid choice"),
    (["--weak-augment", "none"], "which augment 'none' does not perturb"),
    (["--conditional", "average", "--estimator", "hsic"], "takes no --conditional"),
])
def test_bad_augment_and_conditional_are_one_line_errors(tmp_path, capsys, argv, message):
    assert main(["run", "--dataset", "wine", "--out", str(tmp_path / "r"), *argv, *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("mole: error:") and len(err.splitlines()) == 1


def test_every_rule_side_by_side_with_its_options(tmp_path, capsys):
    out = tmp_path / "rules"
    assert main(["run", "--dataset", "wine", "--epochs", "3", "--methods", "mole,bp,dgl,predsim,hsic-bottleneck",
                 "--rule-option", "predsim.beta=0.9", "--rule-option", "hsic-bottleneck.beta=10",
                 "--optimizer", "adamw", "--lr-schedule", "cosine", "-q", "--no-plots", "--monitor-every", "0",
                 "--no-probes", "--accuracy-every", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    runs = {r["method"]: r for r in results["runs"]}
    assert list(runs) == ["mole", "bp", "dgl", "predsim", "hsic-bottleneck"]
    assert all(f"{name} " in printed for name in runs)
    assert runs["predsim"]["rule"]["options"]["beta"] == 0.9 and runs["hsic-bottleneck"]["rule"]["options"]["beta"] == 10
    assert runs["bp"]["end_to_end"] and not runs["dgl"]["end_to_end"] and "estimator" in runs["mole"]
    assert {m["final_loss"] is not None for m in runs["dgl"]["modules"]} == {True}
    assert json.loads((out / "config.json").read_text())["train"]["optimizer"] == "adamw"


@pytest.mark.parametrize("argv, match", [
    (["--methods", "mole,predsin"], "unknown method 'predsin'.*Did you mean 'predsim'"),
    (["--rule-option", "predsim:beta=1"], "expects RULE.KEY=VALUE"),
    (["--rule-option", "predsim.beta=2"], "predsim beta must be in"),
    (["--rule-option", "dgl.depth=2"], "unknown option of method 'dgl'"),
    (["--methods", "mole,mole"], "names a method twice|lists a method twice"),
])
def test_bad_rule_flags_exit_2_with_one_line(capsys, tmp_path, argv, match):
    assert main(["run", "--dataset", "wine", "--epochs", "1", "-q", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(match, err)


def test_label_budget_is_recorded_and_shared_by_every_method(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--labels", "4", "--methods", "mole,bp,dgl", "--out", str(out),
                 "--no-probes", *FAST]) == 0
    assert "labels: 4 per class, 12 of" in capsys.readouterr().out
    res = json.loads((out / "results.json").read_text())
    budget = res["labels"]
    assert budget["budget"] == "4" and budget["labelled"] == 12 and budget["of"] == res["data"]["n_train"]
    assert len(budget["positions"]) == 12 and budget["positions"] == sorted(budget["positions"])
    for r in res["runs"]:
        assert min(abs(r["train_accuracy"] - k / 12) for k in range(13)) < 1e-6  # scored on the 12 labelled samples


def test_label_budget_of_a_graph_collection_applies_to_each_training_fold(tmp_path):
    pytest.importorskip("torch_geometric")
    out = tmp_path / "run"
    assert main(["run", "--dataset", "mutag", "--data-root", _shared_data(), "--labels", "25%", "--folds", "2",
                 "--epochs", "1", "--methods", "mole", "--out", str(out), "--no-probes", "-q", "--no-plots",
                 "--monitor-every", "0"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["labels"]["budget"] == "25%" and len(res["labels"]["folds"]) == 2
    for fold in res["labels"]["folds"]:
        assert fold["labelled"] == pytest.approx(fold["of"] / 4, abs=2)


def _shared_data() -> str:
    import os
    from pathlib import Path
    root = os.environ.get("MOLE_DATA", "/nonexistent")
    if not (Path(root) / "TUDataset" / "MUTAG").exists():
        pytest.skip("no TU data under MOLE_DATA")
    return root


@pytest.mark.parametrize("bad", ["0", "ten", "120%"])
def test_bad_label_budget_is_one_line_exit_2(tmp_path, capsys, bad):
    assert main(["run", "--dataset", "wine", "--labels", bad, "--out", str(tmp_path / "r"), *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "labels" in err[0] and "Traceback" not in err[0]
