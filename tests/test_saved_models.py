"""Saved networks: model-<method>.pt in every run, mole.load, mole predict, and the classifier pickled."""
import csv
import json
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine

import mole
from mole import CheckpointError, ConfigError, MOLEClassifier
from mole.cli import main

QUIET = ["--quiet", "--no-plots", "--monitor-every", "0"]


@pytest.fixture(scope="module")
def file_run(tmp_path_factory):
    """A run on a CSV file with string labels; its test part kept apart as a raw CSV."""
    tmp = tmp_path_factory.mktemp("saved")
    X, y = load_wine(return_X_y=True)
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:140], order[140:]

    def write(path, rows, labelled=True):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([f"f{i}" for i in range(X.shape[1])] + (["cultivar"] if labelled else []))
            for i in rows:
                w.writerow([*X[i].tolist(), *([names[i]] if labelled else [])])
    write(tmp / "train.csv", train)
    write(tmp / "test.csv", test)
    write(tmp / "unlabelled.csv", test, labelled=False)
    np.savez(tmp / "both.npz", X=X[train], y=names[train], X_test=X[test], y_test=names[test])
    out = tmp / "run"
    assert main(["run", "--dataset", str(tmp / "both.npz"), "--epochs", "5", "--methods", "mole,bp", "--out", str(out),
                 *QUIET]) == 0
    return tmp, out, json.loads((out / "results.json").read_text())


def test_every_run_saves_each_network(file_run):
    _, out, res = file_run
    assert sorted(p.name for p in out.glob("model-*.pt")) == ["model-bp.pt", "model-mole.pt"]
    net = mole.load(out, method="bp")
    assert isinstance(net, mole.ModularNetwork) and not net.training
    assert len(net.blocks) == len(res["runs"][1]["modules"])


def test_predict_gives_the_accuracy_the_run_reported(file_run, tmp_path):
    tmp, out, res = file_run
    for run in res["runs"]:
        dest = tmp_path / f"{run['method']}.csv"
        assert main(["predict", str(out), "--data", str(tmp / "test.csv"), "--method", run["method"],
                     "--out", str(dest)]) == 0
        rows = list(csv.DictReader(dest.open()))
        accuracy = np.mean([r["prediction"] == r["label"] for r in rows])
        assert accuracy == pytest.approx(run["test_accuracy"], abs=1e-6)
        assert {r["prediction"] for r in rows} <= {"barolo", "grignolino", "barbera"}  # the original class names
        for r in rows:
            assert abs(sum(float(r[f"p_{c}"]) for c in ("barbera", "barolo", "grignolino")) - 1) < 1e-4
    # without labels: predictions only, the same ones
    assert main(["predict", str(out), "--data", str(tmp / "unlabelled.csv"), "--out", str(tmp_path / "u.csv")]) == 0
    plain = [r["prediction"] for r in csv.DictReader((tmp_path / "u.csv").open())]
    labelled = [r["prediction"] for r in csv.DictReader((tmp_path / "mole.csv").open())]
    assert plain == labelled


def test_predict_refuses_bad_input(file_run, tmp_path, capsys):
    tmp, out, _ = file_run
    (tmp_path / "narrow.csv").write_text("a,b\n1,2\n")
    assert main(["predict", str(out), "--data", str(tmp_path / "narrow.csv")]) == 2
    assert main(["predict", str(tmp_path), "--data", str(tmp / "test.csv")]) == 2
    assert main(["predict", str(out), "--data", str(tmp / "test.csv"), "--method", "dgl"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("mole: error:") for line in err)
    assert "13 feature columns" in err[0] and "no saved model" in err[1] and "model-dgl.pt does not exist" in err[2]
    (tmp_path / "model-mole.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        mole.load(tmp_path)
    with pytest.raises(ConfigError):
        mole.load(tmp_path, method="bp")


def test_load_rebuilds_graph_and_grid_networks(tmp_path):
    out = tmp_path / "karate"
    assert main(["run", "--dataset", "karate", "--epochs", "3", "--methods", "mole", "--out", str(out), *QUIET]) == 0
    from mole.data import load_dataset
    ds = load_dataset("karate")
    res = json.loads((out / "results.json").read_text())
    net = mole.load(out)
    acc = float((ds.test.logits(net).argmax(1) == ds.test.y).float().mean())
    assert acc == pytest.approx(res["runs"][0]["test_accuracy"])
    assert main(["predict", str(out), "--data", str(tmp_path / "x.csv")]) == 2  # graphs: mole.load instead


def test_classifier_pickles(tmp_path):
    X, y = load_wine(return_X_y=True)
    clf = MOLEClassifier(hidden=(16,), epochs=3, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict(X), clf.predict(X))
    assert np.allclose(again.predict_proba(X), clf.predict_proba(X))
    assert again.score(X, y) == clf.score(X, y) and again.get_params() == clf.get_params()
