"""`mole run --dataset DIR`: a folder of images in ImageFolder's layout, a user's model factory and --cuts."""
import json
import os

import numpy as np
import pytest
import torch

import mole
from mole.cli import main
from mole.data.images import ImageFiles, has_torchvision, load_image_folder

FAST = ["--epochs", "2", "-q", "--no-plots", "--monitor-every", "0"]
#: CI's vision step sets MOLE_REQUIRE_TORCHVISION: there the torchvision tests must run, not skip
REQUIRED = bool(os.environ.get("MOLE_REQUIRE_TORCHVISION"))
vision = pytest.mark.skipif(not (has_torchvision() or REQUIRED),
                            reason="torchvision (pip install mole-mi[vision]); CI's vision step runs these")
MODEL = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.fc = nn.Linear(8, c)

    def forward(self, x):
        h = self.conv1(x)
        return self.fc((self.conv2(h) + h).mean((2, 3)))


def build(num_classes):
    return Net(num_classes)
'''


def make_images(root, per_class=10, size=12, sizes=None):
    """Three classes of generated RGB images: a bright disc, a bright square, bright rows."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for c, name in enumerate(["disc", "square", "stripes"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            s = sizes[i % len(sizes)] if sizes else size
            a = rng.random((s, s, 3)) * 0.3
            yy, xx = np.mgrid[:s, :s]
            if c == 0:
                a[(yy - s / 2) ** 2 + (xx - s / 2) ** 2 < (s / 3) ** 2] += 0.7
            elif c == 1:
                a[s // 4: 3 * s // 4, s // 4: 3 * s // 4] += 0.7
            else:
                a[::3] += 0.7
            Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_a_folder_of_images_trains_with_a_held_out_split(tmp_path):
    images = make_images(tmp_path / "images")
    out = tmp_path / "run"
    assert main(["run", "--dataset", str(images), "--methods", "mole,bp", "--out", str(out), *FAST]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["data"]["n_train"] == 24 and res["data"]["n_test"] == 6 and res["data"]["input_shape"] == [3, 12, 12]
    assert res["data"]["classes"] == ["disc", "square", "stripes"] and res["model"] == "cnn"
    assert all(0 <= r["test_accuracy"] <= 1 for r in res["runs"])


def test_a_user_model_file_cut_by_name_trains_and_is_saved(tmp_path):
    images = make_images(tmp_path / "images", per_class=8)
    (tmp_path / "net.py").write_text(MODEL)
    out = tmp_path / "run"
    assert main(["run", "--dataset", str(images), "--model", f"{tmp_path / 'net.py'}:build", "--cuts", "conv1",
                 "--methods", "mole,dgl", "--loader-workers", "2", "--out", str(out), *FAST]) == 0
    res = json.loads((out / "results.json").read_text())
    assert [len(r["modules"]) for r in res["runs"]] == [2, 2]
    with pytest.raises(mole.ConfigError, match="pass model="):
        mole.load(out, "mole")  # the run folder's record of the factory is never imported on its own
    net = mole.load(out, "mole", model=f"{tmp_path / 'net.py'}:build")  # rebuilt from the factory and the cuts
    assert net.cuts == ["conv1"] and net(torch.zeros(2, 3, 12, 12)).shape == (2, 3)


@pytest.mark.parametrize("argv, words", [
    (["--cuts", "conv2"], "a skip connection crosses the cut after 'conv2'"),
    (["--cuts", "conv9"], "no submodule 'conv9'"),
    ([], "Net is an nn.Module, not an nn.Sequential: .* cuts=\\['conv1'\\]"),
])
def test_bad_cuts_at_the_command_line_are_one_line_errors(tmp_path, capsys, argv, words):
    import re
    images = make_images(tmp_path / "images", per_class=4)
    (tmp_path / "net.py").write_text(MODEL)
    code = main(["run", "--dataset", str(images), "--model", f"{tmp_path / 'net.py'}:build", *argv,
                 "--out", str(tmp_path / "run"), *FAST])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and re.search(words, err), err


def test_images_of_different_sizes_need_image_size(tmp_path, capsys):
    images = make_images(tmp_path / "images", per_class=6, sizes=[10, 14])
    assert main(["run", "--dataset", str(images), "--out", str(tmp_path / "a"), *FAST]) == 2
    assert "pass --image-size N" in capsys.readouterr().err
    assert main(["run", "--dataset", str(images), "--image-size", "8", "--out", str(tmp_path / "b"), *FAST]) == 0


def test_a_given_train_test_split_is_kept(tmp_path):
    make_images(tmp_path / "images" / "train", per_class=6)
    make_images(tmp_path / "images" / "test", per_class=2)
    data = load_image_folder(tmp_path / "images")
    assert (len(data.train), len(data.test), data.n_classes) == (18, 6, 3)
    x, y = data.test[5]
    assert x.shape == (3, 12, 12) and y == 2
    assert abs(float(torch.stack([data.train[i][0] for i in range(18)]).mean())) < 0.2  # standardized


@vision
def test_torchvision_and_pillow_read_the_same_pixels(tmp_path):
    from torchvision.datasets import ImageFolder
    images = make_images(tmp_path / "images", per_class=3, sizes=[10, 14])
    ours = ImageFiles(images, image_size=8)
    data = load_image_folder(images, image_size=8)  # through torchvision here
    theirs = ImageFolder(str(images))
    assert ours.classes == theirs.classes and ours.targets == theirs.targets
    from mole.data.images import _reader
    tv = _reader(images, 8)
    for i in range(len(ours)):
        assert torch.allclose(ours[i][0], torch.as_tensor(tv[i][0]), atol=1 / 255)
    assert data.summary()["reader"] == "torchvision ImageFolder"


@vision
def test_torchvision_resnet18_cut_at_its_stages_trains_on_a_folder(tmp_path):
    from torch.utils.data import DataLoader
    from torchvision.models import resnet18
    images = make_images(tmp_path / "images", per_class=6, size=32)
    cuts = ["layer1", "layer2", "layer3", "layer4"]
    out = tmp_path / "run"
    assert main(["run", "--dataset", str(images), "--model", "torchvision.models:resnet18", "--cuts", ",".join(cuts),
                 "--methods", "mole,bp", "--epochs", "1", "--out", str(out), "-q", "--no-plots",
                 "--monitor-every", "0", "--no-probes"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert [len(r["modules"]) for r in res["runs"]] == [5, 5]
    data = load_image_folder(images)
    torch.manual_seed(0)
    fitted = mole.fit(resnet18(num_classes=3), DataLoader(data.train, batch_size=8, shuffle=True), cuts=cuts,
                      config=mole.TrainConfig(epochs=1))
    assert len(fitted.network) == 5 and 0 <= fitted.score(data.test) <= 1
    assert fitted.predict(DataLoader(data.test, batch_size=4)).shape == (len(data.test),)


@vision
@pytest.mark.parametrize("rule, schedule", [*((r, "sequential") for r in ("dgl", "predsim", "hsic-bottleneck",
                                                                          "infopro")),
                                            ("mole", "simultaneous"),
                                            pytest.param("mole", "async", marks=pytest.mark.process)])
def test_torchvision_resnet18_trains_under_every_rule_and_schedule(tmp_path, rule, schedule):
    """mole and bp above; Forward-Forward appends the label as 3 more channels, which resnet18's 3-channel stem does
    not take (a factory taking in_channels gets them)."""
    from torch.utils.data import DataLoader
    from torchvision.models import resnet18
    images = make_images(tmp_path / "images", per_class=4, size=16)
    data = load_image_folder(images)
    torch.manual_seed(0)
    options = {"workers": 2} if schedule == "async" else {}
    fitted = mole.fit(resnet18(num_classes=3), DataLoader(data.train, batch_size=4, shuffle=True), method=rule,
                      cuts=["layer1", "layer2", "layer3", "layer4"],
                      config=mole.TrainConfig(epochs=1, schedule=schedule, **options))
    assert len(fitted.network) == 5 and fitted.predict(data.test).shape == (len(data.test),)


@vision
@pytest.mark.parametrize("rule", ["mole", "dgl"])
def test_torchvision_resnet18_cut_at_its_stages_trains_in_a_plain_loop(tmp_path, rule):
    """mole.LocalModel over resnet18 cut at layer1..layer4, in a user's loop: each step lowers no module's loss to NaN,
    every stage's weights move, and evaluation returns resnet18's logits."""
    from torch.utils.data import DataLoader
    from torchvision.models import resnet18
    data = load_image_folder(make_images(tmp_path / "images", per_class=4, size=16))
    torch.manual_seed(0)
    net = resnet18(num_classes=3)
    model = mole.LocalModel(net, cuts=["layer1", "layer2", "layer3", "layer4"], method=rule,
                            example=torch.stack([data.train[0][0], data.train[1][0]]))
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for x, y in DataLoader(data.train, batch_size=4, shuffle=True, drop_last=True):
        out = model(x, target=y)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        assert len(out.losses) == 5 and all(torch.isfinite(loss) for loss in out.losses)
    for stage in ("conv1", "layer1", "layer2", "layer3", "layer4", "fc"):
        assert any(not torch.equal(p, before[name]) for name, p in net.named_parameters() if name.startswith(stage))
    model.eval()
    x = torch.stack([data.test[i][0] for i in range(len(data.test))])
    with torch.no_grad():
        assert torch.equal(model(x), net(x)) and model(x).shape == (len(data.test), 3)
