"""The MI estimators as a library: matrix-based Rényi entropy and mutual information of tensors.

    python examples/estimator_library.py

No model, no training: ``mole.mutual_information(t, y)`` on any (n, d) features and labels (or features), e.g.
to measure what a layer of your own network knows about the labels.
"""
import torch

import mole

g = torch.Generator().manual_seed(0)
n = 256
y = torch.randint(0, 4, (n,), generator=g)
informative = torch.nn.functional.one_hot(y, 4).float() + 0.3 * torch.randn(n, 4, generator=g)
noise = torch.randn(n, 4, generator=g)

estimator = mole.RenyiEstimator(alpha=1.01)                     # the paper's estimator; HSIC, InfoNCE, JSD too
print(f"I(informative; y) = {float(estimator.mutual_information(informative, y)):.3f} bits")
print(f"I(noise; y)       = {float(estimator.mutual_information(noise, y)):.3f} bits")
print(f"S(informative)    = {float(estimator.entropy(informative)):.3f} bits")
assert estimator.mutual_information(informative, y) > estimator.mutual_information(noise, y)
