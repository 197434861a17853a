"""Inputs of round gridll's `flashrnn run` comparison (docs/performance-fused.md): an LSTM grid head
(B = 16: two batch slices, T = 256: 128 reuses of each exchange buffer, N = 1, D = 768), float32
.npy drawn as the check draws them (run_inputs.py):
  python3 scripts/fused/gridll_inputs.py DIR   ->  DIR/in-lstm768
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_inputs import write_run_inputs  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/gridll-inputs"
write_run_inputs(f"{out}/in-lstm768", np.random.default_rng(20261130), 4, 2, B=16, T=256, N=1, D=768)
