import mole
from mole import ModularNetwork, TrainConfig


def count_samples(module):
    seen = {"train": 0, "eval": 0}

    def hook(mod, inputs, output):
        seen["train" if mod.training else "eval"] += inputs[0].shape[0]
    module.register_forward_hook(hook)
    return seen


def test_frozen_modules_run_once_over_the_training_data(tiny_mlp, blobs):
    x, y = blobs
    net = ModularNetwork(tiny_mlp(hidden=(16, 12, 10)))
    counts = [count_samples(b) for b in net.blocks]
    epochs, n = 4, x.shape[0]
    mole.fit(net, x, y, config=TrainConfig(epochs=epochs, batch_size=64))
    for k, c in enumerate(counts):
        assert c["train"] == epochs * n, f"module {k} trained on {c['train']} samples"
        # one pass to cache its outputs (the head's output is never needed); 2 samples of the shape check
        assert c["eval"] == (n if k < len(counts) - 1 else 0) + 2, f"module {k} re-ran while frozen: {c['eval']}"


def test_modules_train_in_order_and_freeze(tiny_mlp, blobs):
    x, y = blobs
    result = mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=3, batch_size=64))
    assert [r["module"] for r in result.history.records] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(not p.requires_grad for p in result.network.parameters())
    # hidden modules maximize I(T;Y): their loss is -I and falls during training
    first = result.history.for_module(0)
    assert first[-1]["loss"] < first[0]["loss"] and first[-1]["I_TY"] > 0
