"""The cost model that splits modules among pipeline workers: counted, deterministic, and tracking the work."""
import pytest
import torch

import mole
from mole import ModularNetwork, TrainConfig
from mole.adapters import TensorData
from mole.rules import rule_resolver
from mole.schedules import costs
from mole.schedules.asynchronous import balanced_groups
from mole.api import validate_config


def _stages(widths, estimator="renyi", n_classes=3, d=8, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ModularNetwork(mole.models.MLP(d, n_classes, hidden=widths))
    config = TrainConfig(estimator=mole.EstimatorConfig(estimator))
    shapes = [(w,) for w in widths] + [(n_classes,)]
    return rule_resolver("mole").stages(net, shapes, n_classes, config)


def _data(n=96, d=8):
    g = torch.Generator().manual_seed(0)
    return TensorData(torch.randn(n, d, generator=g), torch.arange(n) % 3)


def _first(batch_size):
    return next(iter(_data().batches(_data().x, batch_size, torch.Generator().manual_seed(0))))


def test_model_costs_never_read_the_clock(monkeypatch):
    """The same network and batch give the same costs, however long anything takes on this machine."""
    first = costs.stage_costs(_stages((64, 16)), _data(), 32)
    ticks = iter(range(0, 10**9, 7919))
    monkeypatch.setattr(costs.time, "perf_counter", lambda: next(ticks))  # a wildly irregular clock
    assert costs.stage_costs(_stages((64, 16)), _data(), 32) == first
    assert all(c > 0 for c in first)


def test_a_matrix_product_is_counted_by_torchs_formula():
    """Module 1 (Linear 8 -> 64) on a detached batch of 32: forward 2·32·8·64 FLOPs and the weight gradient as
    many (its input needs none); the rest of the step's products are the estimator's Gram matrices."""
    stages = _stages((64, 16))
    batch = _first(32)
    work, out = costs.counted(stages[0], batch, batch.t_in)
    assert out.shape == (32, 64)
    assert work.flops >= 2 * (2 * 32 * 8 * 64)
    assert work.eigh > 0  # Rényi's eigendecompositions, which torch's counter leaves out
    assert work.elements > costs.OPTIMIZER_ELEMENTS * (8 * 64 + 64)


def test_costs_follow_width_batch_and_estimator():
    wide, narrow = costs.stage_costs(_stages((256, 8)), _data(), 32)[:2]
    assert wide > narrow
    (small, _), (large, _) = (costs.counted(_stages((16, 16))[0], b, b.t_in) for b in (_first(16), _first(48)))
    assert large.eigh == 27 * small.eigh  # the eigendecompositions grow as n³ (n = 16 -> 48)
    assert large.flops > 3 * small.flops and large.seconds() > small.seconds()  # the Gram matrices as n²
    batch = _first(32)
    contrastive, _ = costs.counted(_stages((16, 16), "infonce")[0], batch, batch.t_in)
    assert contrastive.eigh == 0  # no eigendecomposition in the InfoNCE bound


def test_frozen_stages_cost_only_their_forward():
    stages = _stages((64, 16))
    trained = costs.stage_costs(stages, _data(), 32)
    resumed = costs.stage_costs(stages, _data(), 32, start=1)
    assert resumed[0] < trained[0] and resumed[1:] == trained[1:]


def test_the_split_is_a_function_of_the_network():
    """The model's split of a 4-module MLP, costed twice: the same groups, every module in one."""
    stages = _stages((128, 32, 16))
    a = balanced_groups(costs.stage_costs(stages, _data(), 32), 2)
    b = balanced_groups(costs.stage_costs(stages, _data(), 32), 2)
    assert a == b and sum(len(g) for g in a) == 4


def test_timed_costs_remain_an_option():
    timed = costs.stage_costs(_stages((64, 16)), _data(), 32, balance="timed")
    assert len(timed) == 3 and all(c > 0 for c in timed)


@pytest.mark.parametrize("bad", ["fast", "", None])
def test_an_unknown_balance_is_a_config_error(bad):
    with pytest.raises(mole.ConfigError, match="balance must be one of model, timed"):
        validate_config(TrainConfig(balance=bad))


def test_a_pipeline_runs_at_its_slowest_workers_pace_transfers_included():
    c = [0.004, 0.002, 0.002, 0.001]
    assert costs.pipeline_rate(c, [[0, 1, 2, 3]], 100) == pytest.approx(100 / 0.009)
    assert costs.pipeline_rate(c, [[0], [1, 2, 3]], 100) == pytest.approx(100 / 0.005)
    # 1 MB leaves module 1 and enters module 2: at 1 GB/s and 1 ms latency, 2 ms on each side of the cut
    slow = costs.pipeline_rate(c, [[0], [1, 2, 3]], 100, [1e6, 1e6, 1e6, 0], bandwidth=1e9, latency=1e-3)
    assert slow == pytest.approx(100 / (0.005 + 0.002))


def test_auto_workers_run_a_pipeline_only_where_the_model_predicts_it_pays():
    """One worker (no pipeline, no start-up) for light modules or few steps; two for heavy, balanced ones over
    many steps; never more workers than cores or stages."""
    light, heavy = [1e-4, 1e-4, 1e-5], [0.01, 0.01, 1e-4]
    assert costs.choose_workers(light, steps=1000, cores=2, batch_size=128)[0] == 1  # 0.2 s of work: start-up loses
    assert costs.choose_workers(heavy, steps=10, cores=2, batch_size=128)[0] == 1
    chosen, predicted = costs.choose_workers(heavy, steps=10_000, cores=2, batch_size=128)
    assert chosen == 2 and predicted[2]["groups"] == [[1], [2, 3]]
    a, loop = costs.LOOP_FACTOR, costs.LOOP_SECONDS
    assert predicted[2]["seconds"] == pytest.approx(costs.STARTUP_SECONDS * 2 + 10_000 * (a * 0.0101 + loop))
    assert predicted[1]["seconds"] == pytest.approx(10_000 * (a * sum(heavy) + loop))
    assert predicted[1]["samples_per_second"] == pytest.approx(128 / (a * sum(heavy) + loop))
    # a pipeline predicted faster, but by less than the margin, is not chosen
    close = [0.01, 0.001, 0.001]
    chosen, predicted = costs.choose_workers(close, steps=10_000, cores=2, batch_size=128)
    assert predicted[2]["seconds"] < predicted[1]["seconds"] and chosen == 1
    assert costs.choose_workers(heavy, steps=10_000, cores=1, batch_size=128)[0] == 1
    assert set(costs.choose_workers(heavy, steps=10_000, cores=8, batch_size=128)[1]) == {1, 2, 3}


@pytest.mark.process
def test_auto_workers_choosing_one_train_as_the_simultaneous_schedule_in_this_process():
    x, y = _data().x, _data().y
    nets = {}
    for schedule, workers in (("simultaneous", 2), ("async", "auto")):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = mole.models.MLP(8, 3, hidden=(16, 16))
        res = mole.fit(net, x, y, config=TrainConfig(epochs=2, batch_size=32, schedule=schedule, workers=workers))
        nets[schedule] = (net, res)
    info = nets["async"][1].schedule
    assert info["workers"] == 1 and info["in_process"] and info["auto"]["chosen"] == 1
    assert "1" in info["auto"]["candidates"]
    for a, b in zip(nets["simultaneous"][0].state_dict().values(), nets["async"][0].state_dict().values()):
        assert torch.equal(a, b)


def test_workers_take_a_count_or_auto_at_the_cli(capsys):
    from mole.cli import main
    assert main(["run", "--dataset", "digits", "--schedule", "async", "--workers", "two"]) == 2
    assert "auto" in capsys.readouterr().err
    with pytest.raises(mole.ConfigError, match="'auto'"):
        validate_config(TrainConfig(schedule="async", workers="many"))
