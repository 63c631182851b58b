r"""One worker of the asynchronous schedule: a contiguous group of modules in its own process.

Worker r owns stages ``groups[r]``. Every worker draws the *same* sequence of mini-batches (the
same generator state), so labels, raw inputs and graph context (``edge_index``, read-out) never
travel: only the activation tensor does. For each batch, worker r

1. receives :math:`T_{k-1}` from worker r-1 (worker 0 takes the batch's input :math:`X_B`),
2. takes the local step of each of its modules in turn, each on the detached output of the one
   before (as the simultaneous schedule does), and
3. sends its last output :math:`T_k` on to worker r+1 without waiting for it (bounded in flight),

and never waits for a backward pass: there is none across workers. Staggered (``stagger`` s > 0), stage k
trains in pipeline epochs [k·s, k·s + epochs): it starts once the stage before it has trained s epochs, trains
on that stage's fresh outputs, and once its own epochs are done it is frozen and only runs forward for the
stages after it; a worker none of whose stages has started draws the epoch's batches and waits for nothing.
When all epochs are done the workers gather their modules' weights and per-epoch records at rank 0, which
assembles the model.

Exact resume: with ``snapshots`` set, each worker writes its state (its modules, optimizers, objectives,
the batch generator, torch's RNG, its records) after each of its epochs. Worker r's state after epoch e
depends only on the batches of epochs <= e, all of which it has received by then, so the workers' snapshots
of the same epoch form a consistent cut whatever their lead over one another, and a run resumed from them
(``resume_epoch``) continues exactly as the uninterrupted one.

Rendezvous is ``env://`` (``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``), so the same
loop runs in local processes started by :func:`mole.distributed.launch_local` or under
``torchrun --nnodes N``. Backend: gloo on CPU, nccl for CUDA devices.
"""
from __future__ import annotations

import dataclasses
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Optional

import torch
import torch.distributed as dist

from ..adapters import TrainData
from ..memory import ActivationMemory
from ..callbacks import Callback
from ..checkpoint import load_objective_state, objective_state
from ..loop import train_epoch
from ..stage import Stage
from .channel import Sender, receive

STARTUP = 120.0  # seconds a worker may take to start (import torch, join the rendezvous)
#: heartbeat states: computing, waiting to receive from the previous worker, waiting to send to the next
WORKING, RECEIVING, SENDING = b"w", b"r", b"s"


@dataclasses.dataclass
class WorkerSpec:
    """Everything a worker needs; pickled once into every local worker process."""

    stages: list[Stage]
    groups: list[list[int]]  # stage indices per worker, contiguous, in order
    data: TrainData
    epochs: int
    batch_size: int
    generator_state: torch.Tensor  # every worker draws the same batches
    start: int = 0  # stages before this index are already trained (resume): frozen, forward only
    max_in_flight: int = 4
    timeout: float = 60.0  # seconds without progress before the run fails (start-up: at least STARTUP)
    threads: int = 1  # torch intra-op threads per worker
    result_path: Optional[str] = None  # where rank 0 saves the gathered result (local launch)
    snapshots: Optional[str] = None  # folder for each worker's end-of-epoch snapshots (exact resume)
    resume_epoch: int = 0  # > 0: every worker continues from its snapshot after this many epochs
    keep_epochs: int = 2  # snapshots each worker keeps (the workers' lead over one another is bounded)
    stagger: int = 0  # > 0: module k starts once module k-1 has trained this many epochs (see stage_window)

    def stage_window(self, index: int) -> tuple[int, int]:
        """The pipeline epochs [first, last) in which stage ``index`` trains: stages from ``start`` on begin
        ``stagger`` epochs after the one before them and each trains ``epochs`` epochs."""
        first = max(0, index - self.start) * self.stagger
        return first, first + self.epochs

    @property
    def waiting_lead(self) -> int:
        """Epochs a worker may run ahead of the others while none of its stages has started (staggered): it only
        draws the epochs' batches, receiving nothing, until its first stage's window opens."""
        return max(self.stage_window(group[0])[0] for group in self.groups if group)

    @property
    def pipeline_epochs(self) -> int:
        """Epochs of the whole pipeline: the last stage's window ends there."""
        return max(self.stage_window(i)[1] for group in self.groups for i in group)


def is_primary() -> bool:
    """False in every torch.distributed process but rank 0 (true when not distributed at all)."""
    return int(os.environ.get("RANK", "0")) == 0


def _device(spec: WorkerSpec) -> torch.device:
    param = next(spec.stages[0].module.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def snapshot_file(folder: str, rank: int, epoch: int) -> Path:
    """The path of worker ``rank``'s snapshot after ``epoch`` epochs: ``folder/worker<rank>-epoch<epoch>.pt``."""
    return Path(folder, f"worker{rank}-epoch{epoch}.pt")


def _save_snapshot(spec: WorkerSpec, rank: int, epoch: int, mine: list[Stage], generator, records) -> None:
    """Worker ``rank``'s state after ``epoch`` epochs, atomically. Older snapshots go once no other worker can
    still be behind them: ``keep_epochs`` (the pipeline's lead) plus the :attr:`WorkerSpec.waiting_lead`."""
    state = {"stages": {s.index: {"module": s.module.state_dict(), "optimizer": s.optimizer.state_dict(),
                                  "objective": objective_state(s.objective), "epochs_done": s.epochs_done}
                        for s in mine},
             "generator": generator.get_state(), "rng": torch.get_rng_state(), "records": records}
    path = snapshot_file(spec.snapshots, rank, epoch)
    torch.save(state, path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)
    old = snapshot_file(spec.snapshots, rank, epoch - spec.keep_epochs - spec.waiting_lead)
    if old.exists():
        old.unlink()


def _load_snapshot(spec: WorkerSpec, rank: int, mine: list[Stage], generator) -> list[dict]:
    state = torch.load(snapshot_file(spec.snapshots, rank, spec.resume_epoch), map_location="cpu",
                       weights_only=True)
    for stage in mine:
        saved = state["stages"][stage.index]
        stage.module.load_state_dict(saved["module"])
        stage.optimizer.load_state_dict(saved["optimizer"])
        load_objective_state(stage.objective, saved["objective"])
        stage.epochs_done = saved["epochs_done"]
    generator.set_state(state["generator"])
    torch.set_rng_state(state["rng"])
    return list(state["records"])


def place(spec: WorkerSpec, rank: int) -> None:
    """One GPU per worker: on a CUDA run with several GPUs, worker ``rank`` moves its stages and the data to
    ``cuda:LOCAL_RANK`` (modulo the GPU count); activations then travel between GPUs over nccl."""
    if _device(spec).type != "cuda" or torch.cuda.device_count() < 2:
        return
    target = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count())
    torch.cuda.set_device(target)
    for i in spec.groups[rank]:
        spec.stages[i].module.to(target)  # in place: the optimizer keeps the same parameters
        spec.stages[i].objective.to(target)
    spec.data = spec.data.to(target)


def _train(spec: WorkerSpec, rank: int, world: int, beat) -> dict:
    mine = [spec.stages[i] for i in spec.groups[rank]]
    param = next((p for s in mine for p in s.module.parameters()), None)
    device = param.device if param is not None else _device(spec)
    generator = torch.Generator().set_state(spec.generator_state)
    # a peer that stops answering for this long is lost; local workers leave the call to the launcher's watchdog
    # (it names the worker the others wait on) and only give up after twice its timeout
    patience = spec.timeout * (2 if "MOLE_WORKER" in os.environ else 1)
    sender = Sender(rank + 1, spec.max_in_flight, patience) if rank < world - 1 else None
    records, first = [], None
    if spec.resume_epoch:
        records = _load_snapshot(spec, rank, mine, generator)
    memory = ActivationMemory(device)
    waited = {"receive": 0.0, "send": 0.0}  # seconds blocked on the previous worker / the next one (buffer full)

    hops = spec.data.hops([stage.module for stage in spec.stages])  # every worker draws the same neighbourhoods

    def inputs():
        """The epoch's batches, T_{k-1} received from the previous worker (worker 0: the batch's input)."""
        nonlocal first
        for batch in spec.data.batches(spec.data.x, spec.batch_size, generator, hops):
            if rank > 0:
                wait = time.perf_counter()
                beat(RECEIVING)
                batch = dataclasses.replace(batch, t_in=receive(rank - 1, device, patience))
                beat(WORKING)
                if first is not None:  # the loop starts with the first batch: waiting for it is start-up
                    waited["receive"] += time.perf_counter() - wait
            first = first or time.time()
            yield batch

    def send(t: torch.Tensor) -> None:
        if sender is not None:
            wait = time.perf_counter()
            beat(SENDING)
            sender.send(t)
            waited["send"] += time.perf_counter() - wait
        beat(WORKING)

    first_of_next = spec.stage_window(spec.groups[rank + 1][0])[0] if rank < world - 1 else None
    for epoch in range(spec.resume_epoch, spec.pipeline_epochs):
        chain = [stage for stage in mine if spec.stage_window(stage.index)[0] <= epoch]  # started (staggered)
        for stage in chain:
            if epoch >= spec.stage_window(stage.index)[1] and not stage.frozen:
                stage.freeze()  # its epochs are done: it only runs forward for the stages after it
        if not chain:  # none of this worker's stages has started: draw the epoch's batches, as every worker does
            for _ in spec.data.batches(spec.data.x, spec.batch_size, generator, hops):
                pass
        else:
            sends = first_of_next is not None and first_of_next <= epoch
            for record in train_epoch(chain, inputs(), epoch, callbacks=Callback(), memory=memory,
                                      after_batch=send if sends else None):
                local = record["epoch"] - spec.stage_window(record["module"])[0]  # the stage's own epoch
                records.append({**record, "epoch": local, "worker": rank})
        if spec.snapshots:
            _save_snapshot(spec, rank, epoch + 1, mine, generator, records)
    if sender is not None:
        wait = time.perf_counter()
        beat(SENDING)
        sender.flush()
        beat(WORKING)
        waited["send"] += time.perf_counter() - wait
    return {"rank": rank, "states": {s.index: s.module.state_dict() for s in mine}, "records": records,
            "loop": (first, time.time()), "peak_bytes": memory.peak_bytes, "waits": waited}


def join_group(device: torch.device, timeout: float) -> bool:
    """Join the ``env://`` process group unless this process is in one already; True if it joined here (the
    caller then destroys it). The rendezvous waits for every worker's start-up (fresh interpreters importing
    torch), so it gets at least STARTUP seconds; within a local launch the parent's watchdog enforces
    ``timeout`` anyway."""
    if dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" and dist.is_nccl_available() else "gloo"
    dist.init_process_group(backend, init_method="env://", rank=int(os.environ["RANK"]),
                            world_size=int(os.environ["WORLD_SIZE"]),
                            timeout=timedelta(seconds=max(timeout, STARTUP)))
    return True


def run_worker(spec: WorkerSpec, rank: int, world: int, beat=lambda state=WORKING: None) -> Optional[list[dict]]:
    """Train worker ``rank``'s modules; return the gathered results of all workers at rank 0."""
    torch.set_num_threads(max(1, spec.threads))
    place(spec, rank)
    own_group = join_group(_device(spec), spec.timeout)
    try:
        mine = _train(spec, rank, world, beat)
        gathered = [None] * world if rank == 0 else None
        dist.gather_object(mine, gathered, dst=0)
    finally:
        if own_group:
            dist.destroy_process_group()
    if rank == 0 and spec.result_path:
        tmp = spec.result_path + ".tmp"
        torch.save(gathered, tmp)
        os.replace(tmp, spec.result_path)
    return gathered
