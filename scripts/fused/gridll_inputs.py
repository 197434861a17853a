"""Inputs of round gridll's `flashrnn run` comparison (docs/performance-fused.md): an LSTM grid head
(B = 16: two batch slices, T = 256: 128 reuses of each exchange buffer, N = 1, D = 768), drawn as
the check draws them (Wx, b, initial states and output gradients N(0, 1), R N(0, 1/D)), float32 .npy:
  python3 scripts/fused/gridll_inputs.py DIR   ->  DIR/in-lstm768
"""
import os
import sys

import numpy as np

rng = np.random.default_rng(20261130)


def make(folder, gates, states, B, T, N, D):
    os.makedirs(folder, exist_ok=True)
    def normal(shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)
    np.save(f"{folder}/wx.npy", normal((B, T, gates, N, D)))
    np.save(f"{folder}/r.npy", normal((gates, N, D, D), 1 / np.sqrt(D)))
    np.save(f"{folder}/b.npy", normal((gates, N, D)))
    np.save(f"{folder}/s0.npy", normal((states, B, N, D)))
    np.save(f"{folder}/ds.npy", normal((states, B, T, N, D)))
    np.save(f"{folder}/dl.npy", normal((states, B, N, D)))


out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/gridll-inputs"
make(f"{out}/in-lstm768", 4, 2, B=16, T=256, N=1, D=768)
