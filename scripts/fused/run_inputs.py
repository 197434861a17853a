"""The float32 .npy inputs of a `flashrnn run` forward+backward problem, drawn as the check draws
them (Wx, b, initial states and output gradients N(0, 1), R N(0, 1/D)); shared by the round input
generators (mbarrier_inputs.py, gridll_inputs.py)."""
import os

import numpy as np


def write_run_inputs(folder, rng, gates, states, B, T, N, D):
    os.makedirs(folder, exist_ok=True)
    def normal(shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)
    np.save(f"{folder}/wx.npy", normal((B, T, gates, N, D)))
    np.save(f"{folder}/r.npy", normal((gates, N, D, D), 1 / np.sqrt(D)))
    np.save(f"{folder}/b.npy", normal((gates, N, D)))
    np.save(f"{folder}/s0.npy", normal((states, B, N, D)))
    np.save(f"{folder}/ds.npy", normal((states, B, T, N, D)))
    np.save(f"{folder}/dl.npy", normal((states, B, N, D)))
