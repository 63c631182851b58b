"""What each layer learned: the information plane, linear probes and t-SNE embeddings.

* :func:`information_plane` measures ``I(T_k; X)`` and ``I(T_k; Y)`` of every module's rows now (a loop of your own:
  :meth:`mole.LocalModel.representations`);
* :class:`InformationMonitor` (a training callback) records ``I(T_k; X)`` and ``I(T_k; Y)`` of
  every module's output on a fixed evaluation sample during training;
* :func:`linear_probes` fits a logistic-regression probe on the input and on every module's output;
* :func:`tsne_panels` embeds the input and every module's output of one sample in 2-D.

Plots of these live in :mod:`mole.plots`; nothing here draws.
"""
from .embedding import tsne_panels
from .monitor import InformationMonitor, information_plane, monitor_estimator
from .probes import linear_probes

__all__ = ["InformationMonitor", "information_plane", "monitor_estimator", "linear_probes", "tsne_panels"]
