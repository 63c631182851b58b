r"""The asynchronous schedule: modules in separate worker processes, activations flowing forward.

The K stages are cut into ``workers`` contiguous groups; each group lives in its own process
(:mod:`mole.distributed.worker`). Worker r receives :math:`T_{k-1}` of a batch from worker r-1,
takes its modules' local steps, sends :math:`T_k` on and moves to the next batch at once, so the
workers form a pipeline: while worker 2 trains on batch b, worker 1 already trains on batch b+1.
No worker ever waits for a backward pass, only (at most ``max_in_flight`` batches ahead) for its
input. Per batch and module the update is the simultaneous schedule's; the difference is that
module k's input may come from a module k-1 a few steps *older* than under simultaneous.

Groups are balanced by cost: every stage's step on one batch is costed (:mod:`mole.schedules.costs`:
counted by a deterministic cost model by default, so the same command always splits the same way; or timed,
``balance="timed"``) and the contiguous split with the smallest slowest group wins, since a pipeline runs at
the pace of its slowest worker. Each worker uses ``cpu_count // workers`` threads.

Launch: with no ``torch.distributed`` environment, ``workers`` local processes are started (gloo,
``env://`` on a free local port) and watched (:func:`mole.distributed.launch_local`). Under
``torchrun`` (``RANK``/``WORLD_SIZE`` set, e.g. ``torchrun --nnodes 2 --nproc-per-node 1 -m mole.cli run
--schedule async --workers 2 ...``) this process *is* worker ``RANK``; rank 0 assembles the model. The
nodes join the process group before planning and agree on one plan: rank 0's costs decide the groups (each
node's own timings could split differently under ``balance="timed"``), and on resume all continue from the last epoch
every worker has a snapshot of, whether ``--out`` is one shared folder or one per host.

Throughput: ``loop_seconds`` runs from the first worker's first batch to the last worker's last
batch (process start-up, ``startup_seconds``, is reported apart).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import torch
import torch.distributed as dist

from ..adapters import TrainData
from ..callbacks import CallbackList
from ..config import TrainConfig
from ..errors import ConfigError
from ..memory import ActivationMemory
from ..stage import Stage
from .base import Schedule
from .costs import BALANCES, balanced_groups, choose_workers, stage_costs
from .simultaneous import SimultaneousSchedule


def _predicted(prediction: dict, chosen: int) -> dict:
    """What ``--workers auto`` predicted, for results.json: the chosen count and every candidate's seconds and
    samples/s."""
    return {"chosen": chosen, "candidates": {str(w): {"seconds": round(p["seconds"], 3),
                                                      "samples_per_second": round(p["samples_per_second"], 1),
                                                      "groups": p["groups"]} for w, p in prediction.items()}}


def _saved_epochs(folder: Path, rank: int) -> set[int]:
    return {int(p.stem.split("epoch")[1]) for p in folder.glob(f"worker{rank}-epoch*.pt")}


def _snapshot_plan(folder: Path, groups: list[list[int]], workers: int, resume: bool) -> tuple[list, int]:
    """The module groups and the epoch to resume from: on resume, the groups the snapshots were written with
    and the last epoch every worker has a snapshot of (0: none); otherwise a fresh folder recording ``groups``."""
    plan = folder / "groups.json"
    if resume and plan.exists():
        saved = json.loads(plan.read_text())
        epochs = [_saved_epochs(folder, r) for r in range(workers)]
        common = set.intersection(*epochs) if epochs else set()
        if len(saved) == workers:
            return saved, max(common, default=0)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    plan.write_text(json.dumps(groups))
    return groups, 0


def _agreed_plan(folder: Path, groups: list[list[int]], resume: bool, rank: int) -> tuple[list, int]:
    """:func:`_snapshot_plan` for the nodes of a torchrun launch, whose folders may be one shared folder or one
    per host: every node reports its saved plan and snapshot epochs, all resume from the last epoch every
    worker has (with the saved groups) or all start afresh; a node only ever deletes its own worker's files and
    writes the plan atomically, so nodes sharing the folder cannot trip over one another."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = folder / "groups.json"
    saved = json.loads(plan.read_text()) if resume and plan.exists() else None
    reports = [None] * dist.get_world_size()
    dist.all_gather_object(reports, (saved, _saved_epochs(folder, rank) if saved else set()))
    plans = [p for p, _ in reports]
    if plans[0] is not None and len(plans[0]) == len(reports) and all(p == plans[0] for p in plans):
        return plans[0], max(set.intersection(*(e for _, e in reports)), default=0)
    for old in folder.glob(f"worker{rank}-epoch*.pt"):
        old.unlink()
    tmp = folder / f"groups.json.{rank}.tmp"
    tmp.write_text(json.dumps(groups))
    os.replace(tmp, plan)
    return groups, 0


@contextlib.contextmanager
def _node_failures(rank: int, groups: list[list[int]] | None):
    """A peer that dies or stops answering (its node lost) ends the run with
    :class:`~mole.distributed.WorkerFailure` naming both workers: one line at the CLI."""
    from ..distributed import WorkerFailure
    from ..distributed.channel import PeerLost
    name = (lambda r: f"worker {r} ({describe_group(groups[r])})") if groups else (lambda r: f"worker {r}")
    tic = time.time()
    try:
        yield
    except PeerLost as exc:
        raise WorkerFailure(f"{name(rank)} lost contact with {name(exc.peer)} after {time.time() - tic:.0f} s: its "
                            "node died, hung or lost the network; restart both nodes (add --resume to continue)",
                            {"worker": exc.peer, "reporter": rank, "reason": str(exc)}) from None
    except dist.DistError as exc:  # a collective (planning, the final gather) failing
        raise WorkerFailure(f"{name(rank)}: the distributed run failed "
                            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); a node was lost: "
                            "restart both nodes (add --resume to continue)", {"reporter": rank}) from None


def _breakdown(part: dict) -> dict:
    """A worker's loop seconds: blocked receiving from the previous worker, blocked sending to the next (its
    buffer full), and the rest (computing: steps, estimates, its share of the transport)."""
    start, end = part["loop"]
    loop = (end - start) if start is not None else 0.0
    waits = part["waits"]
    return {"compute": round(loop - waits["receive"] - waits["send"], 3), "receive_wait": round(waits["receive"], 3),
            "send_wait": round(waits["send"], 3)}


def describe_group(group: list[int]) -> str:
    """A worker's module group for messages, counted from 1: ``"module 2"`` or ``"modules 2-3"``."""
    return f"module {group[0] + 1}" if len(group) == 1 else f"modules {group[0] + 1}-{group[-1] + 1}"


class AsynchronousSchedule(Schedule):
    """
    Args:
        workers: number of worker processes (1..number of modules), or ``"auto"``: the number the cost model
            predicts trains soonest, start-up included (:func:`~mole.schedules.costs.choose_workers`); where that is
            one, the stages train in this process as the simultaneous schedule trains them (no pipeline, no start-up).
        timeout: seconds without progress after which a worker counts as hung.
        max_in_flight: batches a worker may run ahead of the next one.
        balance: how stages are costed for the groups: ``"model"`` (counted, deterministic) or ``"timed"``.
        stagger: 0, or the epochs module k-1 trains before module k starts (a staggered pipeline: closer to the
            sequential schedule's accuracy, still overlapping the workers; see :mod:`mole.distributed.worker`).
    """

    name = "async"

    def __init__(self, workers: int = TrainConfig.workers, timeout: float = TrainConfig.worker_timeout,
                 max_in_flight: int = 4, balance: str = TrainConfig.balance, stagger: int = TrainConfig.stagger):
        if workers != "auto" and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
            raise ConfigError(f"workers must be an integer >= 1 or 'auto'; got {workers!r}")
        if not (isinstance(stagger, int) and not isinstance(stagger, bool) and stagger >= 0):
            raise ConfigError(f"stagger must be an integer >= 0 (epochs); got {stagger!r}")
        if balance not in BALANCES:
            raise ConfigError(f"balance must be one of {', '.join(BALANCES)}; got {balance!r}")
        if not timeout > 0:
            raise ConfigError(f"worker timeout must be positive; got {timeout!r}")
        self.auto = workers == "auto"  # chosen per run from the cost model
        self.workers, self.timeout, self.max_in_flight = workers, float(timeout), int(max_in_flight)
        self.balance, self.stagger = balance, stagger
        self.loop_seconds: float | None = None
        self.info: dict = {}

    @classmethod
    def from_config(cls, config) -> "AsynchronousSchedule":
        return cls(workers=config.workers, timeout=config.worker_timeout, balance=config.balance,
                   stagger=config.stagger)

    def _spec(self, stages, groups, data, epochs, batch_size, generator, start, snapshots, resume_epoch, local):
        from ..distributed import WorkerSpec
        n_batches = data.n_batches(batch_size)
        lead = -(-(self.workers - 1) * self.max_in_flight // max(1, n_batches))  # epochs one worker may lead by
        return WorkerSpec(stages, groups, data, epochs, batch_size, generator.get_state(), start,
                          self.max_in_flight, self.timeout, threads=max(1, (os.cpu_count() or 1) // local),
                          snapshots=snapshots, resume_epoch=resume_epoch, keep_epochs=lead + 2, stagger=self.stagger)

    @staticmethod
    def _begin(stages, callbacks, epochs, n_batches):
        for stage in stages:
            callbacks.on_stage_begin(stage=stage, epochs=epochs, batches_per_epoch=n_batches)

    def _as_torchrun_node(self, stages, data, epochs, batch_size, generator, callbacks, start, snapshots, resume):
        """This process is worker ``RANK`` of a torchrun launch: it joins the process group first, so that the
        nodes agree on one plan (rank 0's cost measurement and module groups, the snapshot epoch to resume
        from) before any of them trains; returns (gathered results at rank 0, the worker spec, costs)."""
        from ..distributed import run_worker
        from ..distributed.worker import join_group
        rank = int(os.environ["RANK"])
        param = next((p for s in stages for p in s.module.parameters()), None)
        own = join_group(param.device if param is not None else torch.device("cpu"), self.timeout)
        try:
            with _node_failures(rank, None):
                plan = [stage_costs(stages, data, batch_size, start, self.balance) if rank == 0 else None]
                dist.broadcast_object_list(plan, src=0)  # timings may differ between nodes: rank 0's decide
                costs = plan[0]
                groups, resume_epoch = balanced_groups(costs, self.workers), 0
                if snapshots is not None:
                    groups, resume_epoch = _agreed_plan(Path(snapshots), groups, resume, rank)
            spec = self._spec(stages, groups, data, epochs, batch_size, generator, start, snapshots, resume_epoch,
                              local=int(os.environ.get("LOCAL_WORLD_SIZE", self.workers)))
            self._begin(stages[start:], callbacks, epochs, data.n_batches(batch_size))
            with _node_failures(rank, groups):
                return run_worker(spec, rank, self.workers), spec, costs
        finally:
            if own:
                dist.destroy_process_group()

    def run(self, stages: list[Stage], data: TrainData, *, epochs: int, batch_size: int,
            generator: torch.Generator, callbacks: CallbackList, memory: ActivationMemory,
            start: int = 0, start_epoch: int = 0, restore=None, snapshots: str | None = None,
            resume: bool = False) -> None:
        from ..distributed import is_primary, launch_local
        torchrun = "WORLD_SIZE" in os.environ and "MOLE_WORKER" not in os.environ
        prediction = costs = None
        if self.auto and torchrun:
            self.workers = int(os.environ["WORLD_SIZE"])  # torchrun started the workers: one per process
        elif self.auto:
            with torch.random.fork_rng(devices=[]):  # counting runs steps (dropout): the run's randomness stays
                costs = stage_costs(stages, data, batch_size, start, self.balance)
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            self.workers, prediction = choose_workers(costs, (epochs - start_epoch) * data.n_batches(batch_size),
                                                      cores, batch_size)
            if self.workers == 1:  # no pipeline pays: every stage here, as the simultaneous schedule trains them
                SimultaneousSchedule().run(stages, data, epochs=epochs, batch_size=batch_size, generator=generator,
                                           callbacks=callbacks, memory=memory, start=start, start_epoch=start_epoch,
                                           restore=restore)
                self.info = {"workers": 1, "auto": _predicted(prediction, 1), "in_process": True}
                return
        if self.workers > len(stages):
            raise ConfigError(f"{self.workers} workers but the network has only {len(stages)} modules; "
                              f"use --workers between 1 and {len(stages)}")
        if start_epoch:  # its own checkpoint is written when the workers finish; mid-run it resumes from snapshots
            raise ConfigError("the asynchronous schedule cannot continue a stage from a per-epoch checkpoint; resume "
                              "the run with the schedule that wrote it")
        if restore is not None:
            restore()
        if start >= len(stages):  # resumed after the last stage: nothing to train
            for stage in stages:
                stage.freeze()
            return
        tic = time.time()
        for stage in stages[:start]:  # already trained (resume): frozen, forward only in their worker
            stage.freeze()
        if torchrun and int(os.environ["WORLD_SIZE"]) != self.workers:
            raise ConfigError(f"torchrun started {os.environ['WORLD_SIZE']} processes but --workers is "
                              f"{self.workers}; make them equal")
        if torchrun:
            gathered, spec, costs = self._as_torchrun_node(stages, data, epochs, batch_size, generator,
                                                             callbacks, start, snapshots, resume)
        else:
            if costs is None:  # --workers auto counted them already
                costs = stage_costs(stages, data, batch_size, start, self.balance)
            groups, resume_epoch = balanced_groups(costs, self.workers), 0
            if snapshots is not None:
                groups, resume_epoch = _snapshot_plan(Path(snapshots), groups, self.workers, resume)
            spec = self._spec(stages, groups, data, epochs, batch_size, generator, start, snapshots, resume_epoch,
                              local=self.workers)
            self._begin(stages[start:], callbacks, epochs, data.n_batches(batch_size))
            gathered = launch_local(spec, self.workers, lambda r: describe_group(groups[r]), self.timeout)
        n_batches, groups = data.n_batches(batch_size), spec.groups
        for stage in stages:
            stage.freeze()
        if not is_primary():
            return  # under torchrun, rank 0 assembles and reports
        for part in gathered:
            for index, state in part["states"].items():
                stages[index].module.load_state_dict(state)
        memory.peak_bytes = max([memory.peak_bytes, *(p["peak_bytes"] for p in gathered)])  # the largest step
        loops = [p["loop"] for p in gathered if p["loop"][0] is not None]
        self.loop_seconds = max(b for _, b in loops) - min(a for a, _ in loops) if loops else 0.0
        self.info = {"workers": self.workers, "groups": [[i + 1 for i in g] for g in groups],
                     **({"auto": _predicted(prediction, self.workers)} if prediction else {}),
                     "balance": self.balance, "stagger": self.stagger, "stage_costs_ms": [round(1000 * c, 3) for c in costs],
                     "resumed_from_epoch": spec.resume_epoch,  # 0: a fresh start (or no snapshots)
                     "startup_seconds": (min(a for a, _ in loops) - tic) if loops else None,
                     "loop_seconds": self.loop_seconds,
                     # per worker: seconds of its loop spent computing, and blocked receiving / sending
                     "worker_seconds": [_breakdown(p) for p in sorted(gathered, key=lambda p: p["rank"])]}
        # the workers' events, replayed here in order once their weights are back: ``replayed=True`` tells
        # callbacks that read the network (the information-plane monitor) that it already holds the final weights
        for stage in stages[start:]:
            for record in sorted((r for p in gathered for r in p["records"] if r["module"] == stage.index),
                                 key=lambda r: r["epoch"]):
                for _ in range(n_batches):
                    callbacks.on_batch_end(stage=stage, loss=record["loss"], replayed=True)
                callbacks.on_epoch_end(record=record, stage=stage, replayed=True)
            callbacks.on_stage_end(stage=stage, epochs=epochs)
        if snapshots is not None:
            shutil.rmtree(snapshots, ignore_errors=True)  # the run's checkpoint, written at the stages' end, takes over
