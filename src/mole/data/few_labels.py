"""What `mole run --labels` turns on for MOLE by kind of data: the label-free terms, augmentation and budget that were
measured to help with few labels (docs/benchmarks/few_labels.md), each a default the user's flags override.

* images (MNIST, MLP 256-128, 10 labels per class, 3 seeds: 97.85 % against backprop's 86.27 % and semi-supervised
  backprop's 94.40 %): two affine views of each image, IIC's view clusters (λ_V = 0.1) and pseudo-labels at
  τ = 0.9 guessed on a weak view (a shift of at most 1 px), batches of 128, 20 epochs per module. Measured on
  MNIST; used for every image dataset.
* signals (MNIST-1D, 10 % of the labels): random shifts and batches of 128, 30 epochs per module; no label-free
  term (the view terms lost 0.1 to 4.9 points there, pseudo-labels 0.9).
* node-level graphs: Deep Graph Infomax's I(T;S) over every node (λ_G = 2; Cora, 5 labels per class: +5.27 points
  over backprop, +0.23 over semi-supervised backprop with the same term), already the Planetoid datasets' default.
* graph collections (MUTAG, 10 % of the labels): masked nodes as the augmentation; no label-free term (the
  dataset's defaults scored best).
* vectors (tables, files, digits' 8×8 images): nothing was measured to help; the run is as without ``--labels``.
"""
from __future__ import annotations

#: kind of data -> the few-label settings (flags of `mole run`, in their TrainConfig / ObjectiveConfig names)
FEW_LABELS = {
    "image": {"augment": "affine", "weak_augment": "shift", "weak_augment_pixels": 1, "lambda_view": 0.1,
              "view_term": "clusters", "pseudo_labels": 0.9, "batch_size": 128, "epochs": 20},
    "signal": {"augment": "shift", "batch_size": 128, "epochs": 30},
    "node": {"lambda_graph": 2.0},
    "graph": {"augment": "mask"},
    "vector": {},
}

