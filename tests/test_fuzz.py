"""Fuzzing the front doors: every bad input ends in one clear line (CLI: exit 2, ``mole: error: ...``;
API: a specific mole exception), never a traceback, nothing written outside the run folder, no network."""
from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

import mole
from mole.cli import main

FAST = ["--epochs", "1", "-q", "--no-plots", "--monitor-every", "0"]

INT_FLAGS = {  # flag: values that must be refused
    "--epochs": ["0", "-1", "1.5", "abc", "", "1e3", "99999999999999999999", str(2 ** 63)],
    "--batch-size": ["0", "1", "-5", "x", "2.5", "99999999999999999999", str(2 ** 63)],
    "--folds": ["0", "1", "-2", "ten"],
    "--monitor-every": ["-1", "x"],
    "--monitor-samples": ["0", "1", "-3"],
    "--tsne-samples": ["0", "1", "q"],
    "--project-dim": ["0", "-1", str(2 ** 63)],
    "--augment-pixels": ["-1", "x"],
    "--critic-dim": ["-4", "x", str(2 ** 63)],
    "--critic-hidden": ["-1", "x", str(2 ** 40)],
    "--renyi-project": ["-1", "2.5"],
    "--lambda-graph": ["-1", "nan", "inf"],
    "--lambda-view": ["-1", "nan", "inf", "x"],
    "--labels": ["0", "-1", "x", "0%", "101%", "2.5", "1e9%"],
    "--seed": ["-1", "x", "1.5", str(2 ** 64), str(2 ** 63 - 1), str(2 ** 32)],
    "--workers": ["0", "-1", "x"],
    "--fanout": ["0", "-2", "x"],
    "--accuracy-every": ["-1", "x"],
    "--probe-samples": ["0", "1"],
    "--max-modules": ["1", "-1"],
    "--seeds": ["", "x", "3-1", "0,0", "-1", "1-", "0-99999999999"],
}
FLOAT_FLAGS = {
    "--lr": ["0", "-1", "nan", "inf", "-inf", "x", "1e400"],
    "--weight-decay": ["-1", "nan", "inf", "y"],
    "--momentum": ["-0.1", "1", "1.5", "nan"],
    "--dropout": ["-0.1", "1", "2", "nan"],
    "--lambda-y": ["nan", "inf", "-1"],
    "--lambda-x": ["nan", "-inf", "-2"],
    "--beta": ["nan", "inf", "-1"],
    "--alpha": ["0", "-1", "nan", "inf", "1e6"],
    "--sigma": ["0", "-1", "nan", "inf", "wide"],
    "--temperature": ["0", "-1", "nan", "inf"],
    "--worker-timeout": ["0", "-1", "nan", "inf", "1e308"],
    "--checkpoint-every": ["-1", "nan", "inf", "soon"],
    "--sampling-budget-mb": ["0", "-1", "nan", "inf"],
}
CHOICE_FLAGS = {
    "--augment": ["shfit", "SHIFT", ""], "--optimizer": ["adma", "lbfgs"], "--lr-schedule": ["linear", ""],
    "--pool": ["max", "mena"], "--neighbor-sampling": ["yes", "always"], "--normalize": ["zscore"], "--label-kernel": ["gauss"],
    "--conditional": ["joint2"], "--reduce": ["pool"], "--model": ["mpl", "resnet2", ""], "--view-term": ["cluster", ""],
    "--schedule": ["sequental", "async2", ""], "--estimator": ["renyy", "mine", ""], "--dataset": ["digts", ""],
    "--methods": ["", ",", "mole,backprop", "MOLE", "mole,mole", "mole bp"],
    "--hidden": ["0", "abc", "-1,2", "", "1.5", "99999999999", str(2 ** 63)], "--channels": ["0", "x", ""],
    "--device": ["cuda:7", "bogus", "tpu", "cuda" if not torch.cuda.is_available() else "cuda:99"],
}
COMBOS = [
    ["--model", "gcn"],  # a graph model on vector data (digits)
    ["--model", "gin"],
    ["--dataset", "karate", "--model", "mlp"],  # an MLP on a graph
    ["--dataset", "karate", "--model", "cnn"],
    ["--dataset", "wine", "--augment", "shift"],  # vectors cannot shift
    ["--dataset", "mnist1d", "--augment", "crop-flip"],  # 1-D signals cannot flip
    ["--dataset", "mnist1d", "--augment", "shift", "--augment-pixels", "99999999"],  # a shift past the signal
    ["--augment", "mask"],  # masking is for graph collections
    ["--lambda-y", "0"],  # no objective term left
    ["--lambda-y", "0", "--lambda-x", "0", "--beta", "0"],
    ["--workers", "2"],  # workers without the async schedule
    ["--schedule", "async", "--workers", "9"],  # more workers than modules
    ["--estimator", "infonce", "--alpha", "2"],
    ["--estimator", "renyi", "--temperature", "0.5"],
    ["--estimator", "hsic", "--conditional", "average"],
    ["--rule-option", "predsim"], ["--rule-option", "predsim.beta"], ["--rule-option", ".beta=1"],
    ["--rule-option", "nosuch.beta=1"], ["--rule-option", "dgl.grid=0"], ["--rule-option", "predsim.beta=x"],
    ["--rule-option", "hsic-bottleneck.sigma=-1"], ["--rule-option", "bp.lr=1"],
    ["--resume"],  # nothing to resume in a fresh folder
    ["--dataset", "mnist", "--data-root", "{tmp}/empty"],  # files missing, no --download
    ["--dataset", "cora", "--data-root", "{tmp}/empty"],
    ["--dataset", "mutag", "--data-root", "{tmp}/empty"],
    ["--dataset", "{tmp}/missing.csv"], ["--dataset", "{tmp}/data.txt"], ["--dataset", "{tmp}"],
    ["--no-such-flag"], ["extra-positional"],
]


def _cases():
    cases = [[flag, v] for table in (INT_FLAGS, FLOAT_FLAGS, CHOICE_FLAGS) for flag, vs in table.items() for v in vs]
    return cases + COMBOS


BAD_FILES = {  # name: (writer, expected words)
    "one_row.csv": (lambda p: p.write_text("a,b,label\n1,2,0\n"), "samples"),
    "one_class.csv": (lambda p: p.write_text("a,label\n" + "".join(f"{i},1\n" for i in range(20))), "class"),
    "nan_label.csv": (lambda p: p.write_text("a,label\n" + "".join(f"{i},{'nan' if i == 3 else i % 2}\n"
                                                                    for i in range(20))), "label"),
    "ragged.csv": (lambda p: p.write_text("a,b,label\n1,2,0\n1,0\n" * 10), "row"),
    "text.csv": (lambda p: p.write_text("a,label\nx,0\ny,1\n" * 10), "number"),
    "empty.csv": (lambda p: p.write_text(""), "empty"),
    "header_only.csv": (lambda p: p.write_text("a,label\n"), "samples"),
    "inf.csv": (lambda p: p.write_text("a,label\n" + "".join(f"{'inf' if i == 2 else i},{i % 2}\n"
                                                              for i in range(20))), "inf"),
    "object.npz": (lambda p: np.savez(p, X=np.array([[1, "a"]] * 10, dtype=object), y=np.arange(10) % 2), "npz"),
    "no_y.npz": (lambda p: np.savez(p, X=np.ones((10, 2))), "y"),
    "truncated.npz": (lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 20), "npz"),
    "garbage.npz": (lambda p: p.write_bytes(b"definitely not a zip"), "npz"),
    "mismatch.npz": (lambda p: np.savez(p, X=np.ones((10, 2)), y=np.arange(9) % 2), "labels"),
    "test_width.npz": (lambda p: np.savez(p, X=np.random.rand(20, 3), y=np.arange(20) % 2,
                                          X_test=np.random.rand(5, 4), y_test=np.arange(5) % 2), "features"),
    "unseen_test_class.npz": (lambda p: np.savez(p, X=np.random.rand(20, 3), y=np.arange(20) % 2,
                                                 X_test=np.random.rand(5, 3), y_test=np.array([0, 1, 2, 0, 1])),
                              "class"),
    "float_labels.npz": (lambda p: np.savez(p, X=np.random.rand(20, 3), y=np.linspace(0, 1, 20)), "label"),
    "labels_2d.npz": (lambda p: np.savez(p, X=np.random.rand(20, 3), y=np.zeros((20, 2))), "label"),
    "nan_x.npz": (lambda p: np.savez(p, X=np.full((20, 3), np.nan), y=np.arange(20) % 2), "NaN"),
    "empty_x.npz": (lambda p: np.savez(p, X=np.zeros((0, 3)), y=np.zeros(0)), "samples"),
    "scalar_x.npz": (lambda p: np.savez(p, X=np.array(3.0), y=np.array(1)), "shape"),
    "zero_features.npz": (lambda p: np.savez(p, X=np.zeros((20, 0)), y=np.arange(20) % 2), "size 0"),
    "zero_inner.npz": (lambda p: np.savez(p, X=np.zeros((20, 0, 4)), y=np.arange(20) % 2), "size 0"),
    "zero_test.npz": (lambda p: np.savez(p, X=np.random.rand(20, 3), y=np.arange(20) % 2, X_test=np.zeros((0, 3)),
                                         y_test=np.zeros(0)), "no samples"),
    "label_only.csv": (lambda p: p.write_text("label\n" + "".join(f"{i % 2}\n" for i in range(20))), "column"),
}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Run in an empty folder; fail on any network connection; report every file created outside ``out``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "data.txt").write_text("not a dataset")

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path / "cache"))
    before = {p for p in tmp_path.rglob("*")}
    yield tmp_path
    created = {p for p in tmp_path.rglob("*")} - before
    outside = [p for p in created if not (p.is_relative_to(tmp_path / "out") or p.is_relative_to(tmp_path / "cache")
                                          or p.is_relative_to(tmp_path / "files"))]
    assert not outside, f"written outside the run folder: {outside}"


def _one_line_exit_2(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, f"exit {code} for {argv}; stderr: {err[-500:]}"
    assert "Traceback" not in captured.err and len(err.splitlines()) == 1, err
    assert err.startswith("mole: error:"), err
    return err


@pytest.mark.parametrize("args", _cases(), ids=lambda a: " ".join(a)[:60])
def test_bad_flag_values(sandbox, capsys, args):
    args = [a.replace("{tmp}", str(sandbox)) for a in args]
    _one_line_exit_2(capsys, ["run", *FAST, "--out", str(sandbox / "out"), *args])


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_data_files(sandbox, capsys, name):
    write, words = BAD_FILES[name]
    (sandbox / "files").mkdir()
    path = sandbox / "files" / name
    write(path)
    if path.suffix == ".npz" and not path.exists():  # np.savez appends .npz only when missing
        path = path.with_suffix(".npz")
    err = _one_line_exit_2(capsys, ["run", *FAST, "--dataset", str(path), "--out", str(sandbox / "out")])
    assert words.lower() in err.lower(), err


def test_bad_run_folders(sandbox, capsys):
    files = sandbox / "files"
    files.mkdir()
    (files / "a_file").write_text("x")
    _one_line_exit_2(capsys, ["run", *FAST, "--out", str(files / "a_file")])
    for out in (files / "a_file" / "sub", "/proc/no/such/run", "/dev/null/run", "", "a\x00b", "x" * 300):
        _one_line_exit_2(capsys, ["run", *FAST, "--out", str(out)])
    _one_line_exit_2(capsys, ["plot", str(files)])  # no results.json
    (files / "results.json").write_text("{not json")
    _one_line_exit_2(capsys, ["plot", str(files)])
    for partial in ('{"runs": [{"method": "mole"}]}', '{"runs": [{}]}', '{"runs": "x"}', '[]'):
        (files / "results.json").write_text(partial)
        _one_line_exit_2(capsys, ["plot", str(files)])


# -- the Python API -----------------------------------------------------------------------------------------
X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
Y = np.arange(40) % 2

API_CASES = [
    (dict(X=X[:, :3]), mole.DataError),  # the network takes 4 features
    (dict(X=np.where(np.eye(40, 4) > 0, np.nan, X)), mole.DataError),
    (dict(y=Y[:-1]), mole.DataError),
    (dict(y=Y.astype(float) + 0.5), mole.DataError),
    (dict(y=np.zeros(40)), mole.DataError),  # one class
    (dict(y=-np.ones(40, dtype=int)), mole.DataError),
    (dict(y=Y.reshape(20, 2)), mole.DataError),
    (dict(X=X[:1], y=Y[:1]), mole.DataError),
    (dict(X="not an array"), mole.DataError),
    (dict(X=[[1, "a"]] * 40), mole.DataError),
    (dict(config=mole.TrainConfig(epochs=0)), mole.ConfigError),
    (dict(config=mole.TrainConfig(lr=float("nan"))), mole.ConfigError),
    (dict(config=mole.TrainConfig(batch_size=1)), mole.ConfigError),
    (dict(config=mole.TrainConfig(seed=-1)), mole.ConfigError),
    (dict(config=mole.TrainConfig(device="cuda:9")), mole.ConfigError),
    (dict(config=mole.TrainConfig(schedule="nope")), mole.ConfigError),
    (dict(config=mole.TrainConfig(optimizer="nope")), mole.ConfigError),
    (dict(config=mole.TrainConfig(objective=mole.ObjectiveConfig(lambda_y=0))), mole.ConfigError),
    (dict(config=mole.TrainConfig(objective=mole.ObjectiveConfig(lambda_y=float("nan")))), mole.ConfigError),
    (dict(config=mole.TrainConfig(estimator=mole.EstimatorConfig("renyi", {"alpha": 1e6}))), mole.ConfigError),
    (dict(config=mole.TrainConfig(estimator=mole.EstimatorConfig("renyi", {"sigma": float("inf")}))),
     mole.ConfigError),
    (dict(config=mole.TrainConfig(rule_options={"predsim": {"beta": 3}})), mole.ConfigError),
    (dict(method="nope"), mole.ConfigError),
    (dict(X=np.clip(np.abs(X), 0.5, 1) * 3e38), mole.DivergenceError),  # finite inputs, the first layer overflows
]


@pytest.mark.parametrize("case, error", API_CASES, ids=[str(i) for i in range(len(API_CASES))])
def test_api_raises_specific_errors(tiny_mlp, case, error):
    kwargs = {"X": X, "y": Y, "config": mole.TrainConfig(epochs=1), "method": "mole", **case}
    Xc, yc = kwargs.pop("X"), kwargs.pop("y")
    with pytest.raises(error):
        mole.fit(tiny_mlp(d=4, c=2), Xc, yc, **kwargs)


@pytest.mark.parametrize("a, b", [
    (torch.full((8, 3), float("nan")), torch.arange(8) % 2),
    (torch.randn(8, 3), torch.arange(7) % 2),
    (torch.randn(8, 3), torch.zeros(8, 2, dtype=torch.long)),
    (torch.randn(1, 3), torch.zeros(1, dtype=torch.long)),
    (torch.tensor(1.0), torch.arange(8)),
    ("text", torch.arange(8)),
])
@pytest.mark.parametrize("estimator", ["renyi", "hsic", "infonce", "jsd"])
def test_estimators_reject_what_they_cannot_measure(a, b, estimator):
    with pytest.raises(mole.DataError):
        mole.mutual_information(a, b, estimator=estimator)
