"""Every new kind of input answered (issue 41): Datasets, DataLoaders and IterableDatasets of every item type,
memory-mapped arrays, folders of images, model factories, cuts, convergence and label budgets, bp-semi, and what a
fitted model is given to predict and score. Bad input ends in one line naming the problem and the fix: exit code 2 at
the command line (``mole: error: ...``), a specific :class:`mole.MoleError` in the API. An exception the user's own
code raises (a Dataset's ``__getitem__``, a factory, a forward) is reported as theirs: :class:`mole.UserCodeError`,
naming the code and keeping the original as its cause. Cases that test_fuzz.py and adapters/test_datasets.py
already hold are not repeated here."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, Subset, TensorDataset

import mole
from mole import ConfigError, DataError, TrainConfig, UserCodeError
from mole.cli import main
from mole.models import MLP
from test_fuzz import FAST, _one_line_exit_2, sandbox  # noqa: F401 - sandbox is a fixture

CLI = [*FAST, "--no-probes"]


def _fit(data, y=None, d=3, **cfg):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = MLP(d, 2, hidden=(8,))
    return mole.fit(net, data, y, config=TrainConfig(**{"epochs": 1, "batch_size": 4, **cfg}))


def _one_line(info, words: str) -> str:
    message = str(info.value)
    assert "\n" not in message, message
    assert words.lower() in message.lower(), message
    return message


# -- the user's data: items of every type -------------------------------------------------------------------------
class Items(Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


class PILLike:
    """What a torchvision dataset without ToTensor returns."""


PILLike.__module__ = "PIL.Image"


def _pairs(x, n=10):
    return [(x, i % 2) for i in range(n)]


ITEMS = {  # name: (data, words); the data's items, not its labels, are what is wrong
    "dict": (lambda: Items([{"x": torch.zeros(3), "y": 0}] * 10), "(features, label) pairs"),
    "1-tuple": (lambda: Items([(torch.zeros(3),)] * 10), "(features, label) pairs"),
    "None features": (lambda: Items(_pairs(None)), "holds a NoneType"),
    "list features": (lambda: Items(_pairs([0.1, 0.2, 0.3])), "holds a list"),
    "numpy of objects": (lambda: Items(_pairs(np.array(["a", "b", "c"], dtype=object))), "holds a ndarray"),
    "PIL image": (lambda: Items(_pairs(PILLike())), "v2.ToImage()"),
    "0-d tensor": (lambda: Items(_pairs(torch.tensor(1.0))), "a single number"),
    "empty tensor": (lambda: Items(_pairs(torch.zeros(0))), "no values"),
    "complex": (lambda: Items(_pairs(torch.ones(3, dtype=torch.complex64))), "complex numbers"),
    "None label": (lambda: Items([(torch.zeros(3), None)] * 10), "integer class indices"),
    "str label": (lambda: Items([(torch.zeros(3), "cat")] * 10), "integer class indices"),
    "two-value label": (lambda: Items([(torch.zeros(3), torch.tensor([0, 1]))] * 10), "integer class indices"),
    "stream of str": (lambda: Stream([("abc", 0)] * 10), "holds a str"),
    "stream of 1-tuples": (lambda: Stream([(torch.zeros(3),)] * 10), "(features, label) pairs"),
    "stream of 0-d": (lambda: Stream(_pairs(torch.tensor(1.0))), "a single number"),
    "stream of two shapes": (lambda: Stream([(torch.zeros(3), 0), (torch.zeros(4), 1)] * 5), "different shapes"),
    "loader of None labels": (lambda: DataLoader(Items([(torch.zeros(3), None)] * 10), batch_size=4),
                              "integer class indices"),
}


@pytest.mark.parametrize("name", list(ITEMS))
def test_items_of_every_type(name):
    make, words = ITEMS[name]
    with pytest.raises(DataError) as info:
        _fit(make())
    _one_line(info, words)


# -- memory-mapped arrays ------------------------------------------------------------------------------------------
Y = torch.arange(20) % 2

MEMMAPS = {  # name: (array saved as .npy and loaded with mmap_mode="r", labels, words)
    "complex": (np.ones((20, 3), np.complex64), Y, "must hold numbers"),
    "strings": (np.array([["a"] * 3] * 20), Y, "must hold numbers"),
    "0-d": (np.array(3.0), Y, "shape (n_samples"),
    "1-d": (np.zeros(20), Y, "shape (n_samples"),
    "no samples": (np.zeros((0, 3)), Y[:0], "shape (n_samples"),
    "zero width": (np.zeros((20, 0)), Y, "size 0"),
    "labels too few": (np.random.rand(20, 3), Y[:-1], "19 labels but X has 20"),
    "labels 2-d": (np.random.rand(20, 3), torch.zeros(20, 2), "1-D"),
    "labels strings": (np.random.rand(20, 3), np.array(["a", "b"] * 10), "integer class labels"),
    "NaN": (np.full((20, 3), np.nan), Y, "NaN"),
    "Fortran order": (np.asfortranarray(np.random.rand(20, 3)), Y, "C-ordered"),
    "wider than the network": (np.random.rand(20, 5).astype(np.float32), Y, "cannot take inputs of shape (5,)"),
    "no labels": (np.random.rand(20, 3), None, "y is missing"),
}


@pytest.mark.parametrize("name", list(MEMMAPS))
def test_memory_mapped_arrays(tmp_path, name):
    array, y, words = MEMMAPS[name]
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(DataError) as info:
        _fit(np.load(tmp_path / "x.npy", mmap_mode="r"), y)
    _one_line(info, words)


# -- the user's own code raising ----------------------------------------------------------------------------------
class Broken(Dataset):
    """Item 7 raises; its labels are read from the items."""

    def __len__(self):
        return 20

    def __getitem__(self, i):
        if i == 7:
            return 1 / 0
        return torch.full((3,), float(i % 2)), i % 2


class BrokenWithTargets(Broken):
    """Its labels come from ``targets``: item 7 raises when a batch is read (in loader workers too)."""

    targets = [i % 2 for i in range(20)]


class LongerThanItIs(Items):
    def __len__(self):
        return len(self.items) + 3


class NoLength(Items):
    def __len__(self):
        raise RuntimeError("length unknown")


class Batched(BrokenWithTargets):
    def __getitems__(self, positions):
        raise ValueError(f"cannot batch {len(positions)} items")


class BrokenStream(IterableDataset):
    def __iter__(self):
        for i in range(20):
            if i == 4:
                raise KeyError("gone")
            yield torch.zeros(3) + i % 2, i % 2


def refuse_to_collate(items):
    raise ValueError("my collate broke")


class Explode(nn.Module):
    def forward(self, x):
        raise KeyError("no such layer")


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 8), nn.Linear(8, 2)

    def forward(self, x):
        raise AttributeError("forgot self.c")


GOOD = [(torch.full((3,), float(i % 2)), i % 2) for i in range(20)]

USER_CODE = {  # name: (fit's arguments, words naming the user's code, the original exception type)
    "__getitem__": (lambda: dict(X=Broken()), "your Dataset Broken raised ZeroDivisionError at item 7: division by "
                                              "zero (in Broken.__getitem__", ZeroDivisionError),
    "__getitem__ read in batches": (lambda: dict(X=BrokenWithTargets()), "BrokenWithTargets raised ZeroDivisionError "
                                                                         "at item 7", ZeroDivisionError),
    "__getitem__ in a loader worker": (lambda: dict(X=DataLoader(BrokenWithTargets(), batch_size=4, num_workers=2)),
                                       "BrokenWithTargets raised ZeroDivisionError at item 7", None),
    "__getitem__ under a Subset": (lambda: dict(X=Subset(BrokenWithTargets(), list(range(2, 12)))),
                                   "Dataset BrokenWithTargets raised ZeroDivisionError at item 7", ZeroDivisionError),
    "__getitems__": (lambda: dict(X=Batched()), "your Dataset Batched raised ValueError: cannot batch",
                     ValueError),
    "__len__": (lambda: dict(X=NoLength(GOOD)), "NoLength raised RuntimeError: length unknown (in NoLength.__len__",
                RuntimeError),
    "__len__ longer than the items": (lambda: dict(X=LongerThanItIs(GOOD)), "raised IndexError at item 20",
                                      IndexError),
    "__iter__": (lambda: dict(X=BrokenStream()), "BrokenStream raised KeyError at item 4: 'gone' (in "
                                                 "BrokenStream.__iter__", KeyError),
    "collate_fn": (lambda: dict(X=DataLoader(Items(GOOD), batch_size=4, collate_fn=refuse_to_collate)),
                   "your collate_fn refuse_to_collate raised ValueError: my collate broke", ValueError),
    "forward": (lambda: dict(model=nn.Sequential(nn.Linear(3, 8), Explode(), nn.Linear(8, 2))),
                "your network's forward raised KeyError: 'no such layer' (in Explode.forward", KeyError),
    "forward traced for cuts": (lambda: dict(model=TwoLayers(), cuts=["a"]), "traced by torch.fx to cut it) raised "
                                                                            "AttributeError", AttributeError),
}


@pytest.mark.parametrize("name", list(USER_CODE))
def test_the_users_own_code_raising_is_reported_as_theirs(name):
    make, words, original = USER_CODE[name]
    kwargs = {"model": MLP(3, 2, hidden=(8,)), "X": torch.randn(20, 3), "y": Y, **make()}
    if not isinstance(kwargs["X"], torch.Tensor):
        kwargs["y"] = None
    with pytest.raises(UserCodeError) as info:
        mole.fit(kwargs.pop("model"), kwargs.pop("X"), kwargs.pop("y"), config=TrainConfig(epochs=1, batch_size=4),
                 **kwargs)
    message = _one_line(info, words)
    assert message.startswith("your ") and "; fix " in message, message
    assert info.value.__cause__ is not None  # -v shows its traceback
    if original is not None:
        assert isinstance(info.value.__cause__, original)


# -- a fitted model's predict, predict_proba and score ---------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    return _fit(torch.randn(20, 3), Y)


def _saved(tmp_path, array):
    np.save(tmp_path / "x.npy", array)
    return np.load(tmp_path / "x.npy", mmap_mode="r")


PREDICT = {  # name: (X given a tmp folder, words); score gets labels of the right length where X has none
    "more features": (lambda tmp: torch.randn(5, 4), "shape (4,) but the network was trained on samples of shape (3,)"),
    "fewer features": (lambda tmp: np.random.rand(5, 2), "shape (2,)"),
    "one more dimension": (lambda tmp: torch.randn(5, 3, 1), "shape (3, 1)"),
    "a Dataset of other width": (lambda tmp: TensorDataset(torch.randn(5, 4), torch.arange(5) % 2), "shape (4,)"),
    "a memory map of other width": (lambda tmp: _saved(tmp, np.random.rand(5, 4).astype(np.float32)), "shape (4,)"),
    "NaN": (lambda tmp: torch.full((5, 3), float("nan")), "NaN"),
    "strings": (lambda tmp: np.array([["a", "b", "c"]] * 5), "numeric"),
    "1-d": (lambda tmp: torch.randn(3), "shape (n_samples"),
    "0-d": (lambda tmp: torch.tensor(1.0), "shape (n_samples"),
    "no samples": (lambda tmp: torch.zeros(0, 3), "no samples"),
    "a broken Dataset": (lambda tmp: Subset(Broken(), [6, 7]), "Dataset Broken raised ZeroDivisionError at item 7"),
}


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
@pytest.mark.parametrize("name", list(PREDICT))
def test_what_a_fitted_model_is_given_is_checked_as_fit_checks_it(fitted, tmp_path, name, method):
    make, words = PREDICT[name]
    X = make(tmp_path)
    args = (X,) if method != "score" or isinstance(X, Dataset) else (X, np.arange(len(X)) % 2 if np.ndim(X) else Y)
    with pytest.raises(mole.MoleError) as info:
        getattr(fitted, method)(*args)
    _one_line(info, words)


SCORE = {  # name: (labels of 20 samples of 3 features, words)
    "too few": (Y[:-1], "19 labels but X has 20"),
    "unknown class": (torch.full((20,), 5), "class 5 but the network outputs 2 classes"),
    "strings": (np.array(["a", "b"] * 10), "integer class labels"),
    "one-hot": (torch.zeros(20, 2), "1-D"),
    "fractions": (torch.rand(20), "integer class labels"),
    "unlabelled": (-torch.ones(20, dtype=torch.long), "unlabelled"),
    "objects": (np.array([None] * 20), "integer class labels"),
}


@pytest.mark.parametrize("name", list(SCORE))
def test_score_checks_its_labels(fitted, name):
    y, words = SCORE[name]
    with pytest.raises(DataError) as info:
        fitted.score(torch.randn(20, 3), y)
    _one_line(info, words)


@pytest.fixture(scope="module")
def classifier():
    return mole.MOLEClassifier(hidden=(8,), epochs=1, batch_size=4, random_state=0).fit(
        np.random.default_rng(0).normal(size=(20, 3)), np.array(["cat", "dog"] * 10))


CLASSIFIER_X = {  # name: (X, words) for predict and predict_proba
    "more features": (np.random.rand(5, 4), "4 features"),
    "NaN": (np.full((5, 3), np.nan), "NaN"),
    "inf": (np.full((5, 3), np.inf), "infinity"),
    "strings": (np.array([["a", "b", "c"]] * 5), "could not convert"),
    "1-d": (np.random.rand(3), "2D array"),
    "3-d": (np.zeros((5, 3, 1)), "dim 3"),
    "no samples": (np.zeros((0, 3)), "0 sample"),
}
CLASSIFIER_Y = {  # name: (labels for 20 samples, words) for score
    "too few": (np.array(["cat", "dog"] * 9), "18 labels but X has 20"),
    "unknown label": (np.array(["cow"] * 20), "'cow' that fit never saw"),
    "codes instead of names": (np.arange(20) % 2, "0, 1 that fit never saw"),
    "one-hot": (np.zeros((20, 2)), "1-D"),
}


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
@pytest.mark.parametrize("name", list(CLASSIFIER_X))
def test_the_classifier_checks_what_it_predicts_on(classifier, name, method):
    X, words = CLASSIFIER_X[name]
    with pytest.raises(DataError) as info:
        getattr(classifier, method)(X)
    _one_line(info, words)


@pytest.mark.parametrize("name", list(CLASSIFIER_Y))
def test_the_classifier_checks_what_it_scores_on(classifier, name):
    y, words = CLASSIFIER_Y[name]
    with pytest.raises(DataError) as info:
        classifier.score(np.random.rand(20, 3), y)
    _one_line(info, words)


def test_the_classifiers_multi_line_scikit_learn_messages_become_one_line():
    with pytest.raises(DataError) as info:
        mole.MOLEClassifier(epochs=1).fit(np.full((10, 3), np.nan), np.arange(10) % 2)
    _one_line(info, "contains NaN")


# -- the command line: folders of images, factories, cuts, budgets -------------------------------------------------
def _png(path, size=8, value=0):
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


def _images(root, classes=("a", "b"), per_class=4):
    for c, name in enumerate(classes):
        for i in range(per_class):
            _png(root / name / f"{i}.png", value=40 * i + 100 * c)
    return root


def _truncate(path):
    path.write_bytes(path.read_bytes()[:30])


IMAGE_FOLDERS = {  # name: (what is odd about a folder of two classes of four 8x8 images, extra flags, words)
    "an empty class folder": (lambda r: (r / "c").mkdir(), [], "class folder 'c' holds no images"),
    "text named .png": (lambda r: (r / "a" / "notes.png").write_text("not an image"), [], "notes.png is not a"),
    "a truncated PNG": (lambda r: _truncate(r / "b" / "1.png"), [], "1.png is not a readable image"),
    "a nested odd file": (lambda r: (r / "a" / "deeper").mkdir() or (r / "a" / "deeper" / "x.jpg").write_bytes(b"\0"),
                          [], "x.jpg is not a readable image"),
    "one class": (lambda r: [p.unlink() for p in (r / "b").iterdir()] and (r / "b").rmdir(), [], "1 class folder"),
    "too few images": (lambda r: [p.unlink() for p in list((r / "a").iterdir())[1:] + list((r / "b").iterdir())[1:]],
                       [], "at least 5"),
    "a test split with other classes": (lambda r: (_images(r / "train"), _images(r / "test", ("a", "z"))), [],
                                        "different class folders"),
}


@pytest.mark.parametrize("name", list(IMAGE_FOLDERS))
def test_odd_folders_of_images(sandbox, capsys, name):
    change, flags, words = IMAGE_FOLDERS[name]
    root = _images(sandbox / "files" / "images")
    change(root)
    err = _one_line_exit_2(capsys, ["run", *CLI, "--dataset", str(root), *flags, "--out", str(sandbox / "out")])
    assert words.lower() in err.lower(), err


MODEL_FILE = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, d, c):
        super().__init__()
        self.a, self.b, self.head, self.unused = nn.Linear(d, 8), nn.Linear(8, 8), nn.Linear(8, c), nn.Linear(2, 2)

    def forward(self, x):
        return self.head(torch.relu(self.b(torch.relu(self.a(x.flatten(1))))))


class Raising(Net):
    def forward(self, x):
        raise KeyError("boom in forward")


def net(input_shape, num_classes):
    return Net(input_shape[0], num_classes)


def raising_forward(input_shape, num_classes):
    return Raising(input_shape[0], num_classes)


def raising_layer(input_shape, num_classes):
    return nn.Sequential(nn.Linear(input_shape[0], 8), Raising(8, 8), nn.Linear(8, num_classes))


def raises(num_classes):
    raise ValueError("no such width")


def none(num_classes):
    return None


def text(num_classes):
    return "mlp"


def one_output(input_shape):
    return nn.Sequential(nn.Linear(input_shape[0], 8), nn.ReLU(), nn.Linear(8, 1))


def other_width(num_classes):
    return nn.Sequential(nn.Linear(99, 8), nn.ReLU(), nn.Linear(8, num_classes))


def needs_depth(num_classes, depth):
    return net((4,), num_classes)
'''

FACTORIES = {  # name: (flags after --dataset DATA.npz (4 features, 2 classes) with models.py as M, words)
    "raises": (["--model", "M:raises"], "your model factory (--model {M}:raises) raised ValueError: no such width "
                                        "(in raises, models.py:"),
    "returns None": (["--model", "M:none"], "returned a NoneType, not an nn.Module"),
    "returns a string": (["--model", "M:text"], "returned a str, not an nn.Module"),
    "needs an argument mole has not": (["--model", "M:needs_depth"], "cannot be called with {'num_classes': 2}"),
    "no such function": (["--model", "M:nosuch"], "has no function 'nosuch'"),
    "no such file": (["--model", "{files}/nosuch.py:build"], "does not exist"),
    "one output for two classes": (["--model", "M:one_output"], "the head must output (n, 2) logits"),
    "built for other inputs": (["--model", "M:other_width"], "cannot take inputs of shape (4,)"),
    "a forward that raises": (["--model", "M:raising_layer"], "your network's forward raised KeyError: 'boom in "
                                                              "forward' (in Raising.forward, models.py:"),
    "a forward that raises while traced": (["--model", "M:raising_forward", "--cuts", "a"], "(Raising, traced by "
                                                                                            "torch.fx to cut it)"),
    "a module without cuts": (["--model", "M:net"], "name the submodules to cut it into modules after"),
}
CUTS = {  # name: (--cuts of M:net, words)
    "a missing submodule": ("a,zz", "Net has no submodule 'zz'"),
    "a typo": ("a,bb", "Did you mean 'b'"),
    "twice": ("a,a", "twice"),
    "after the head": ("a,head", "nothing of Net's output is computed after the last cut"),
    "a submodule forward never calls": ("a,unused", "never calls 'unused'"),
    "nothing": (",", "expected comma-separated submodule names"),
    "an empty name": (" ", "expected comma-separated submodule names"),
}


@pytest.fixture
def vectors(sandbox):
    files = sandbox / "files"
    files.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    np.savez(files / "data.npz", X=rng.normal(size=(40, 4)).astype(np.float32), y=np.arange(40) % 2)
    (files / "models.py").write_text(MODEL_FILE)
    return files


def _flags(files, flags):
    return [f.replace("M:", f"{files / 'models.py'}:").replace("{files}", str(files)) for f in flags]


@pytest.mark.parametrize("name", list(FACTORIES))
def test_model_factories(vectors, sandbox, capsys, name):
    flags, words = FACTORIES[name]
    err = _one_line_exit_2(capsys, ["run", *CLI, "--dataset", str(vectors / "data.npz"), *_flags(vectors, flags),
                                    "--out", str(sandbox / "out")])
    assert words.replace("{M}", str(vectors / "models.py")).lower() in err.lower(), err


@pytest.mark.parametrize("name", list(CUTS))
def test_cuts(vectors, sandbox, capsys, name):
    cuts, words = CUTS[name]
    err = _one_line_exit_2(capsys, ["run", *CLI, "--dataset", str(vectors / "data.npz"), "--model",
                                    f"{vectors / 'models.py'}:net", "--cuts", cuts, "--out", str(sandbox / "out")])
    assert words.lower() in err.lower(), err


def test_cuts_in_any_order_cut_at_the_same_places():
    from mole.cuts import split

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.head = nn.Linear(3, 4), nn.Linear(4, 4), nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.b(self.a(x)))
    net, x = Net(), torch.randn(5, 3)
    ordered, reversed_ = split(net, ["a", "b"]), split(net, ["b", "a"])
    for one, two in zip(ordered, reversed_):
        assert torch.equal(one(x), two(x))
        x = one(x)


def test_verbose_shows_the_traceback_of_the_users_code(vectors, sandbox, capsys):
    import logging
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:  # -v configures logging: the process's logging is left as it was
        code = main(["run", *CLI, "-v", "--dataset", str(vectors / "data.npz"), "--model",
                     f"{vectors / 'models.py'}:raises", "--out", str(sandbox / "out")])
    finally:
        root.handlers[:], root.level = handlers, level
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" in err and 'raise ValueError("no such width")' in err, err
    assert err.strip().splitlines()[-1].startswith("mole: error: your model factory"), err


BUDGETS = {  # name: (flags on DATA.npz, or on karate, words)
    "--epochs auto with async": (["--epochs", "auto", "--schedule", "async"], "asynchronous pipeline"),
    "--epochs auto and --patience 0": (["--epochs", "auto", "--patience", "0"], "drop --patience 0"),
    "--patience -1": (["--patience", "-1"], "patience must be an integer >= 0"),
    "--patience x": (["--patience", "x"], "invalid int value"),
    "--patience with async": (["--patience", "2", "--schedule", "async"], "asynchronous pipeline"),
    "--checks-per-epoch -1": (["--epochs", "auto", "--checks-per-epoch", "-1"], "checks_per_epoch"),
    "--checks-per-epoch huge": (["--epochs", "auto", "--checks-per-epoch", "99999999"], "checks_per_epoch"),
    "--holdout 0": (["--epochs", "auto", "--holdout", "0"], "holdout must be a fraction"),
    "--holdout 1": (["--epochs", "auto", "--holdout", "1"], "holdout must be a fraction"),
    "--holdout nan": (["--epochs", "auto", "--holdout", "nan"], "holdout must be a fraction"),
    "--holdout x": (["--holdout", "x"], "invalid float value"),
    "--converge-on accuracy": (["--epochs", "auto", "--converge-on", "accuracy"], "invalid choice"),
    "--min-delta -1": (["--epochs", "auto", "--min-delta", "-1"], "min_delta"),
    "--min-delta 1": (["--epochs", "auto", "--min-delta", "1"], "min_delta"),
    "--min-delta nan": (["--epochs", "auto", "--min-delta", "nan"], "min_delta"),
    "a holdout with one label per class": (["--epochs", "auto", "--labels", "1"], "label more samples (--labels)"),
    "a holdout of a probe with one label per class": (["--epochs", "auto", "--converge-on", "probe", "--labels", "1"],
                                                      "at least 2 held-out samples"),
    "a holdout of a graph with few labels": (["--dataset", "karate", "--epochs", "auto"], "held-out samples"),
    "--workers auto sequential": (["--workers", "auto"], "--workers applies to --schedule async"),
    "--workers auto simultaneous": (["--workers", "auto", "--schedule", "simultaneous"], "applies to --schedule async"),
    "--labels 1 with pseudo-labels and no views": (["--labels", "1", "--pseudo-labels", "0.9"], "need an augmentation"),
    "--labels on vectors with shifts": (["--labels", "2", "--augment", "shift"], "needs signals"),
    "--labels on vectors with masks": (["--labels", "2", "--augment", "mask"], "graph collections"),
    "--labels on a graph with pseudo-labels": (["--dataset", "karate", "--labels", "2", "--pseudo-labels", "0.9"],
                                               "set pseudo_labels to 0"),
    "--labels 1.5": (["--labels", "1.5"], "whole number"),
    "bp-semi with an option": (["--methods", "bp-semi", "--rule-option", "bp-semi.beta=1"], "takes no options"),
    "bp-semi with graph infomax on vectors": (["--methods", "bp-semi", "--lambda-graph", "1"], "node-level graph"),
    "bp-semi with views and no augmentation": (["--methods", "bp-semi", "--labels", "5", "--lambda-view", "1"],
                                               "need an augmentation"),
    "bp-semi with pseudo-labels on a graph": (["--dataset", "karate", "--methods", "bp-semi", "--pseudo-labels", "0.5"],
                                              "set pseudo_labels to 0"),
    "bp-semi twice": (["--methods", "bp-semi,bp-semi"], "twice"),
    "bp-semi misspelt": (["--methods", "bp-semy"], "Did you mean 'bp-semi'"),
}


@pytest.mark.parametrize("name", list(BUDGETS))
def test_convergence_label_budgets_workers_and_bp_semi(vectors, sandbox, capsys, name):
    flags, words = BUDGETS[name]
    err = _one_line_exit_2(capsys, ["run", *CLI, "--dataset", str(vectors / "data.npz"), *flags,
                                    "--out", str(sandbox / "out")])
    assert words.lower() in err.lower(), err


def test_a_users_code_error_is_exit_2_and_a_bug_in_mole_stays_exit_1(vectors, sandbox, capsys, monkeypatch):
    assert issubclass(mole.UserCodeError, mole.MoleError) and "UserCodeError" in mole.__all__
    err = _one_line_exit_2(capsys, ["run", *CLI, "--dataset", str(vectors / "data.npz"), "--model",
                                    f"{vectors / 'models.py'}:raising_layer", "--out", str(sandbox / "out" / "a")])
    assert "your network's forward" in err

    def bug(*args, **kwargs):
        raise KeyError("a bug in mole")
    monkeypatch.setattr("mole.experiment._run_method", bug)
    assert main(["run", *CLI, "--dataset", str(vectors / "data.npz"), "--out", str(sandbox / "out" / "b")]) == 1
    assert "this is a bug in mole" in capsys.readouterr().err
