"""2-D t-SNE embeddings of each layer's output, for the paper's figure (raw data -> each module).

Every panel embeds the same samples, so colours (classes) can be followed from layer to layer.
scikit-learn's Barnes-Hut t-SNE with PCA initialization; the perplexity is
lowered for small samples (it must stay below n).
"""
from __future__ import annotations

import numpy as np
import torch


def tsne_panels(rows: list[torch.Tensor], seed: int = 0, perplexity: float = 30.0) -> list[np.ndarray]:
    """One (n, 2) embedding per entry of ``rows`` (each (n, ...), flattened)."""
    from sklearn.manifold import TSNE
    out = []
    for r in rows:
        z = r.flatten(1).double().cpu().numpy()
        n = z.shape[0]
        if n < 3:
            out.append(np.zeros((n, 2)))
            continue
        tsne = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), init="pca", random_state=seed)
        out.append(tsne.fit_transform(z))
    return out
