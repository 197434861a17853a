"""Inputs of round mbarrier's `flashrnn run` problems (docs/performance-fused.md), drawn as the
check draws them (Wx, b, initial states and output gradients N(0, 1), R N(0, 1/D)), float32 .npy:
  python3 scripts/fused/mbarrier_inputs.py DIR   ->  DIR/in-elman144, in-lstm144, in-lstm200
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_inputs import write_run_inputs  # noqa: E402

rng = np.random.default_rng(20261129)


def make(folder, gates, states, B=5, T=9, N=3, D=144):
    write_run_inputs(folder, rng, gates, states, B, T, N, D)


out = sys.argv[1] if len(sys.argv) > 1 else ".device-bin/mbarrier"
make(f"{out}/in-elman144", 1, 1)
make(f"{out}/in-lstm144", 4, 2)
make(f"{out}/in-lstm200", 4, 2, B=9, T=5, N=1, D=200)
