"""Reading a file never runs code unless the user asks: a run folder, a model file, a config, a checkpoint and a
dataset file, each crafted to run code if its reader trusted it, are read by every reader mole has. Each crafted
file leaves a marker file behind if its code runs; no marker may appear, and each reader that needs the user's code
says in one line what to pass."""
from __future__ import annotations

import json
import pickle
import shutil
import sys

import numpy as np
import pytest
import torch

import mole
from mole.cli import main

FAST = ["-q", "--no-plots", "--no-probes", "--monitor-every", "0"]

#: a model factory that leaves a mark when it is imported and when it is called
FACTORY = '''
from pathlib import Path
Path(__file__).with_name("imported.mark").write_text("imported")
from torch import nn

def build(in_features, n_classes):
    Path(__file__).with_name("called.mark").write_text("called")
    return nn.Sequential(nn.Sequential(nn.Linear(in_features, 16), nn.ReLU()), nn.Linear(16, n_classes))
'''


class Payload:
    """Unpickled, it writes ``path``: what a pickle-trusting reader would run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').write('ran')",))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """Someone else's run folder: trained with a model factory of theirs (its file beside it), its marks cleared;
    a CSV of new inputs; a crafted pickle."""
    tmp = tmp_path_factory.mktemp("foreign")
    (tmp / "theirs.py").write_text(FACTORY)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), np.arange(60) % 2
    X[y == 1] += 2
    np.savez(tmp / "data.npz", X=X, y=y)
    (tmp / "new.csv").write_text("a,b,c,d,label\n" + "".join(f"{','.join(map(str, r))},{t}\n" for r, t in zip(X, y)))
    run = tmp / "run"
    assert main(["run", "--dataset", str(tmp / "data.npz"), "--model", f"{tmp / 'theirs.py'}:build", "--epochs", "1",
                 "--methods", "mole", "--out", str(run), *FAST]) == 0
    return tmp, run


@pytest.fixture
def marks(foreign):
    """The marks a run of the factory's code leaves: cleared before the test, the ones left after it."""
    tmp, _ = foreign
    for m in tmp.glob("*.mark"):
        m.unlink()
    for name in [n for n in sys.modules if n.startswith("mole_user_model_")]:  # an import runs the file again
        del sys.modules[name]
    yield lambda: sorted(p.name for p in tmp.glob("*.mark"))


def _one_line(capsys, code, expected_code=2):
    err = capsys.readouterr().err.strip()
    assert code == expected_code and len(err.splitlines()) == 1 and "Traceback" not in err, (code, err)
    return err


def test_a_run_folder_names_its_factory_and_no_reader_imports_it(foreign, marks, capsys, tmp_path):
    tmp, run = foreign
    spec = f"{tmp / 'theirs.py'}:build"
    with pytest.raises(mole.ConfigError, match="pass model=") as info:
        mole.load(run)
    assert "\n" not in str(info.value) and spec in str(info.value)
    err = _one_line(capsys, main(["predict", str(run), "--data", str(tmp / "new.csv"), "--out", str(tmp_path / "p.csv")]))
    assert f"--model {spec}" in err
    err = _one_line(capsys, main(["run", "--config", str(run / "config.json"), "--out", str(tmp_path / "again"), *FAST]))
    assert f"--model {spec} on the command line" in err and not (tmp_path / "again").exists()
    assert main(["compare", str(run), "--out", str(tmp_path)]) == 0
    assert main(["plot", str(run)]) == 0
    err = _one_line(capsys, main(["run", "--dataset", str(tmp / "data.npz"), "--resume", "--out", str(run), *FAST]))
    assert "finished run with other settings" in err  # its factory is not imported to find that out either
    assert marks() == []


def test_the_factory_passed_by_the_user_rebuilds_the_network(foreign, marks, capsys, tmp_path):
    tmp, run = foreign
    spec = f"{tmp / 'theirs.py'}:build"
    assert main(["predict", str(run), "--data", str(tmp / "new.csv"), "--model", spec,
                 "--out", str(tmp_path / "p.csv")]) == 0
    assert "accuracy" in capsys.readouterr().out and marks() == ["called.mark", "imported.mark"]
    by_name, x = mole.load(run, model=spec), torch.randn(5, 4)
    from torch import nn

    def build(in_features, n_classes):
        return nn.Sequential(nn.Sequential(nn.Linear(in_features, 16), nn.ReLU()), nn.Linear(16, n_classes))
    by_function = mole.load(run, model=build)
    instance = mole.load(run, model=build(4, 2))
    assert torch.equal(by_name(x), by_function(x)) and torch.equal(by_name(x), instance(x))
    with pytest.raises(mole.ConfigError, match="do not fit the network"):
        mole.load(run, model=build(4, 3))  # not the network that was trained
    with pytest.raises(mole.ConfigError, match="pass the factory"):
        mole.load(run, model=42)


def test_a_config_file_naming_code_needs_the_command_line_to_name_it(foreign, marks, capsys, tmp_path):
    tmp, run = foreign
    spec = f"{tmp / 'theirs.py'}:build"
    toml = tmp_path / "exp.toml"
    toml.write_text(f'dataset = "{tmp / "data.npz"}"\nmodel = "{spec}"\nepochs = 1\n')
    err = _one_line(capsys, main(["run", "--config", str(toml), "--out", str(tmp_path / "a"), *FAST]))
    assert "code that mole imports and runs only when you name it yourself" in err and marks() == []
    assert main(["run", "--config", str(run / "config.json"), "--model", spec, "--out", str(tmp_path / "b"),
                 *FAST]) == 0  # named on the command line: the user asked for it
    assert marks() == ["called.mark", "imported.mark"]
    assert main(["run", "--config", str(run / "config.json"), "--model", "mlp", "--out", str(tmp_path / "c"),
                 *FAST]) == 0  # or another network altogether


def test_a_model_file_that_unpickles_code_is_refused(foreign, marks, capsys, tmp_path):
    tmp, run = foreign
    crafted = tmp_path / "run"
    shutil.copytree(run, crafted)
    torch.save({"format": 1, "build": Payload(tmp / "pickle.mark")}, crafted / "model-mole.pt")
    with pytest.raises(mole.CheckpointError, match="not a readable mole model .* never unpickles"):
        mole.load(crafted)
    _one_line(capsys, main(["predict", str(crafted), "--data", str(tmp / "new.csv")]))
    for build in ({"name": "mlp"}, {"name": "os:system", "input_shape": [4], "n_classes": 2},
                  {"name": "nosuch", "input_shape": [4], "n_classes": 2}, "mlp"):
        torch.save({**torch.load(run / "model-mole.pt", weights_only=True), "build": build}, crafted / "model-mole.pt")
        with pytest.raises((mole.CheckpointError, mole.ConfigError)) as info:
            mole.load(crafted)
        assert "\n" not in str(info.value)
    assert marks() == []


def test_a_checkpoint_that_unpickles_code_is_refused(foreign, marks, capsys, tmp_path):
    tmp, run = foreign
    ckpt = tmp_path / "c.pt"
    torch.save({"version": Payload(tmp / "pickle.mark")}, ckpt)
    net = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU()), torch.nn.Linear(8, 2))
    with pytest.raises(mole.CheckpointError, match="cannot read checkpoint .* never unpickles"):
        mole.fit(net, torch.randn(20, 4), torch.arange(20) % 2, config=mole.TrainConfig(epochs=1), checkpoint=ckpt,
                 resume=True)
    interrupted = tmp_path / "interrupted"  # a run folder whose checkpoint was replaced by a crafted one
    (interrupted / "checkpoints").mkdir(parents=True)
    recorded = json.loads((run / "config.json").read_text())
    (interrupted / "config.json").write_text(json.dumps({**recorded, "model": "mlp"}))
    torch.save({"version": Payload(tmp / "pickle.mark")}, interrupted / "checkpoints" / "mole.pt")
    code = main(["run", "--dataset", str(tmp / "data.npz"), "--methods", "mole", "--epochs", "1", "--resume",
                 "--out", str(interrupted), *FAST])
    assert code == 2 and "checkpoint" in capsys.readouterr().err
    assert marks() == [] and not (tmp / "pickle.mark").exists()


def test_a_pickled_planetoid_file_that_names_code_is_refused(tmp_path, monkeypatch):
    from mole.data import load_dataset
    from mole.data.restricted_pickle import restricted_loads
    raw = tmp_path / "Planetoid" / "Cora" / "raw"
    raw.mkdir(parents=True)
    for part in ("x", "tx", "allx", "y", "ty", "ally", "graph"):
        (raw / f"ind.cora.{part}").write_bytes(pickle.dumps(Payload(tmp_path / "pickle.mark")))
    (raw / "ind.cora.test.index").write_text("0\n")
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(mole.DataError, match="builtins.exec, which is not data") as info:
        load_dataset("cora", tmp_path)
    assert "\n" not in str(info.value) and not (tmp_path / "pickle.mark").exists()
    data = {"x": np.eye(3, dtype=np.float32), "graph": __import__("collections").defaultdict(list, {0: [1, 2]})}
    assert restricted_loads(pickle.dumps(data))["graph"][0] == [1, 2]  # the data types the files hold still load
