"""The researcher's workflow: config files, seed sweeps, mole compare, live metrics.csv, TensorBoard."""
import csv
import json
import threading
import time
from dataclasses import asdict

import pytest

from mole.cli import _config, build_parser, main

QUIET = ["--quiet", "--no-plots", "--monitor-every", "0"]


def _results(folder):
    return json.loads((folder / "results.json").read_text())


def test_toml_config_with_overrides(tmp_path):
    (tmp_path / "c.toml").write_text('dataset = "wine"\nmethods = ["mole", "bp"]\nepochs = 3\nhidden = [16, 8]\n'
                                     'lr = 0.01\nno_plots = true\nquiet = true\nmonitor-every = 0\n'
                                     'rule-option = ["predsim.beta=0.5"]\n')
    out = tmp_path / "run"
    assert main(["run", "--config", str(tmp_path / "c.toml"), "--epochs", "2", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["dataset"] == "wine" and cfg["train"]["epochs"] == 2  # the command line wins
    assert cfg["hidden"] == [16, 8] and cfg["train"]["lr"] == 0.01 and cfg["analysis"]["plots"] is False
    assert cfg["train"]["rule_options"] == {"predsim": {"beta": 0.5}}
    assert [r["method"] for r in _results(out)["runs"]] == ["mole", "bp"]


@pytest.mark.parametrize("text, expect", [
    ('lrr = 0.1', "unknown key 'lrr'; did you mean 'lr'?"),
    ('epochs = "many"', "argument --epochs: expected a number of epochs or auto; got 'many'"),
    ('no-plots = 3', "no-plots is a switch"),
    ('epochs = true', "epochs takes a value"),
    ('dataset = "wine"\n[train]\nlr = 1', "unknown key 'train'"),
    ('dataset = ', "not valid TOML"),
])
def test_bad_config_files_get_one_line(tmp_path, capsys, text, expect):
    (tmp_path / "c.toml").write_text(text)
    assert main(["run", "--config", str(tmp_path / "c.toml"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mole: error:") and expect in err[0]
    assert not (tmp_path / "x").exists()


def test_config_json_round_trips_every_setting():
    """A run folder's config.json becomes flags that rebuild exactly that configuration."""
    from mole.config_files import _experiment_argv
    parser = build_parser()
    cases = [[], ["--dataset", "cora", "--methods", "mole,dgl", "--fanout", "5", "--neighbor-sampling", "on"],
             ["--dataset", "mnist1d", "--estimator", "renyi", "--alpha", "2", "--sigma", "0.5", "--lambda-x", "0.1",
              "--rule-option", "predsim.beta=0.9", "--rule-option", "dgl.map_layers=2", "--no-probes",
              "--schedule", "async", "--workers", "3", "--augment", "shift", "--weak-augment", "shift",
              "--weak-augment-pixels", "1", "--precision", "bf16", "--cache", "disk",
              "--lr-schedule", "cosine", "--optimizer", "sgd", "--momentum", "0.8", "--accuracy-every", "0"],
             ["--dataset", "mutag", "--pool", "sum", "--folds", "5", "--hidden", "8,8", "--estimator", "infonce",
              "--temperature", "0.2", "--critic-dim", "16", "--no-batch-norm", "--tensorboard", "--max-modules", "4"]]
    for argv in cases:
        first = _config(parser.parse_args(["run", *argv])).validate()
        d = json.loads(json.dumps(asdict(first), default=str))
        again = _config(parser.parse_args(["run", *_experiment_argv(d)])).validate()
        assert json.loads(json.dumps(asdict(again), default=str)) == d, argv


def test_config_json_reruns_a_run_exactly(tmp_path):
    out = tmp_path / "first"
    assert main(["run", "--dataset", "wine", "--epochs", "3", "--hidden", "16", "--seed", "4", "--out", str(out),
                 *QUIET]) == 0
    again = tmp_path / "again"
    assert main(["run", "--config", str(out / "config.json"), "--out", str(again)]) == 0
    a, b = _results(out), _results(again)
    assert [r["test_accuracy"] for r in a["runs"]] == [r["test_accuracy"] for r in b["runs"]]
    assert [r["history"][-1]["loss"] for r in a["runs"]] == [r["history"][-1]["loss"] for r in b["runs"]]


def test_seeds_then_compare(tmp_path, capsys):
    parent = tmp_path / "sweep"
    (tmp_path / "c.toml").write_text('dataset = "wine"\nepochs = 2\nhidden = [8]\n')
    assert main(["run", "--config", str(tmp_path / "c.toml"), "--seeds", "0-2", "--out", str(parent), *QUIET]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in parent.iterdir() if p.is_dir()) == ["seed-0", "seed-1", "seed-2"]
    assert [_results(parent / f"seed-{s}")["seed"] for s in range(3)] == [0, 1, 2]
    accs = [_results(parent / f"seed-{s}")["runs"][0]["test_accuracy"] for s in range(3)]
    import statistics
    mean = f"{100 * statistics.mean(accs):.2f} ± {100 * statistics.pstdev(accs):.2f}"
    assert f"| mole | 3 | {mean} |" in printed
    assert (parent / "compare.md").is_file() and (parent / "compare.png").stat().st_size > 5000
    # mole compare on any run folders, anywhere
    assert main(["compare", str(parent / "seed-0"), str(parent / "seed-2"), "--out", str(tmp_path / "cmp")]) == 0
    table = (tmp_path / "cmp" / "compare.md").read_text()
    assert "| mole | 2 |" in table and "| bp | 2 |" in table and "probe m1 %" in table


def test_compare_refuses_mixed_or_missing_runs(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", "--dataset", "wine", "--epochs", "1", "--hidden", "8", "--methods", "bp", "--out", str(a), *QUIET]) == 0
    assert main(["run", "--dataset", "breast_cancer", "--epochs", "1", "--hidden", "8", "--methods", "bp", "--out", str(b),
                 *QUIET]) == 0
    assert main(["compare", str(a), str(b)]) == 2
    assert main(["compare", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "differ in dataset or model" in err and "not a folder" in err


def test_metrics_csv_grows_while_the_run_goes_on(tmp_path):
    out = tmp_path / "run"
    sizes, done = [], threading.Event()

    def watch():
        while not done.is_set():
            path = out / "metrics.csv"
            if path.exists():
                sizes.append(len(path.read_text().splitlines()))
            time.sleep(0.05)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert main(["run", "--dataset", "digits", "--epochs", "6", "--monitor-every", "2", "--out", str(out),
                     "--quiet", "--no-plots"]) == 0
    finally:
        done.set()
        watcher.join()
    assert len(set(sizes)) > 3  # read while it was being written, several sizes seen
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    metrics = {(r["method"], r["module"], r["metric"]) for r in rows}
    assert {("mole", "1", "loss"), ("mole", "1", "I_TY"), ("mole", "1", "plane_I_TX"), ("mole", "1", "plane_I_TY"),
            ("mole", "", "test_accuracy"), ("bp", "", "loss"), ("bp", "", "test_accuracy")} <= metrics
    plane = [(int(r["epoch"]), float(r["value"])) for r in rows if (r["method"], r["module"], r["metric"]) ==
             ("mole", "2", "plane_I_TY")]
    module2 = next(m for m in _results(out)["runs"][0]["modules"] if m["index"] == 1)["information"]
    assert plane == [(p["epoch"], p["I_TY"]) for p in module2]  # the information plane's own epochs: 0, 2, 4, 6
    res = _results(out)
    for run in res["runs"]:
        curve = run["accuracy_curve"]
        assert [p["epoch"] for p in curve] == list(range(1, 7))
        seconds = [p["seconds"] for p in curve]  # training seconds at each point: a time-to-accuracy curve
        assert all(0 < a < b for a, b in zip(seconds, seconds[1:])) and seconds[-1] <= run["train_seconds"] + 1
        assert curve[-1]["test_accuracy"] == pytest.approx(run["test_accuracy"])  # the last point is the final network
        logged = [float(r["value"]) for r in rows if r["method"] == run["method"] and r["metric"] == "test_accuracy"]
        assert logged == pytest.approx([p["test_accuracy"] for p in curve])
    import pandas as pd
    wide = pd.read_csv(out / "metrics.csv").pivot_table(index=["method", "module", "epoch"], columns="metric",
                                                        values="value")
    assert "loss" in wide.columns and len(wide) >= 6 * 3


def test_logging_accuracy_does_not_change_training(tmp_path):
    common = ["run", "--dataset", "wine", "--epochs", "3", "--hidden", "16", *QUIET]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--accuracy-every", "0", "--out", str(tmp_path / "b")]) == 0
    a, b = _results(tmp_path / "a"), _results(tmp_path / "b")
    losses = lambda res: [[(h["module"], h["epoch"], h["loss"]) for h in r["history"]] for r in res["runs"]]  # noqa: E731
    assert losses(a) == losses(b)
    assert [r["test_accuracy"] for r in a["runs"]] == [r["test_accuracy"] for r in b["runs"]]
    assert "accuracy_curve" in a["runs"][0] and not b["runs"][0]["accuracy_curve"]


def test_tensorboard_event_files_load_in_tensorboards_reader(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--epochs", "3", "--hidden", "8", "--tensorboard", "--out", str(out),
                 *QUIET]) == 0
    acc = EventAccumulator(str(out / "tensorboard" / "mole")).Reload()
    tags = acc.Tags()["scalars"]
    assert "loss/module1" in tags and "test_accuracy" in tags
    assert [e.step for e in acc.Scalars("loss/module1")] == [1, 2, 3]
    projector = (out / "tensorboard" / "mole" / "projector_config.pbtxt").read_text()
    assert "module1" in projector and "input" in projector
