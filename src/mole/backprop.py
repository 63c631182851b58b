"""The end-to-end backprop baseline: the same network trained with cross-entropy on its output.

Same data, same optimizer (Adam, same lr), same batch size; ``epochs`` full passes, so every
parameter receives as many updates as under MOLE's sequential schedule.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .callbacks import CallbackList
from .memory import ActivationMemory
from .modular import ModularNetwork
from .adapters import TrainData


class _WholeNetwork:
    """Stands in for a stage in callbacks: backprop has one 'module', the whole network."""

    index, n_stages, is_head = 0, 1, True


def train_backprop(network: ModularNetwork, data: TrainData, *, epochs: int, batch_size: int, lr: float,
                   weight_decay: float, generator: torch.Generator, callbacks: CallbackList,
                   memory: ActivationMemory) -> None:
    optimizer = torch.optim.Adam(network.parameters(), lr=lr, weight_decay=weight_decay)
    whole = _WholeNetwork()
    callbacks.on_stage_begin(stage=whole, epochs=epochs, batches_per_epoch=data.n_batches(batch_size))
    for epoch in range(epochs):
        network.train()
        tic, losses = time.perf_counter(), []
        for batch in data.batches(data.x, batch_size, generator):
            with memory.step():
                loss = F.cross_entropy(batch.readout(network(batch.t_in, *batch.context)), batch.y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            callbacks.on_batch_end(stage=whole, loss=losses[-1])
        callbacks.on_epoch_end(record={"module": 0, "epoch": epoch, "loss": sum(losses) / len(losses),
                                       "seconds": time.perf_counter() - tic}, stage=whole)
    callbacks.on_stage_end(stage=whole)
    network.eval()
