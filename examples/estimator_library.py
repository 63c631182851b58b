"""
Mutual information of tensors, no training
==========================================

The estimators as a library: ``mole.RenyiEstimator`` computes the matrix-based Rényi entropy and mutual
information of any (n, d) features and labels (or features), differentiably, e.g. to measure what a layer of
your own network knows about the labels. The HSIC, InfoNCE and JSD estimators share its interface.
"""
import matplotlib.pyplot as plt
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

# %%
# Information about the labels as noise drowns the signal
# -------------------------------------------------------
#
# The class's one-hot code plus Gaussian noise of growing standard deviation: the estimate falls to the level of
# noise alone.

scales = torch.linspace(0.0, 3.0, 13)
direction = torch.randn(n, 4, generator=g)
mi = [float(estimator.mutual_information(torch.nn.functional.one_hot(y, 4).float() + s * direction, y))
      for s in scales]
fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.plot(scales, mi, marker="o", label="one-hot class + noise")
ax.axhline(float(estimator.mutual_information(noise, y)), color="0.5", linestyle="--", label="noise alone")
ax.set(xlabel="noise standard deviation", ylabel="I(T; Y) [bits]", title="matrix-based Rényi estimate, n = 256")
ax.legend()
fig.tight_layout()
plt.show()
