"""pourbench: simulated pouring datasets and a benchmark for seeing liquid.

Parts (one import namespace): ``pourbench.sim`` (Taichi DFSPH), ``pourbench.render``
(pyrender passes), ``pourbench.datasets`` (recipes, HDF5 schema, generator),
``pourbench.baselines`` (CNN, MultiFrameCNN, LSTMCNN) and ``pourbench.benchmark``
(loader, train, predict, score).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
