#!/usr/bin/env python3
"""`flashrnn run --backend cuda-alternating` against `--backend cpu` on the same fresh random .npy
files, forward and backward, all four cells. The GPU run stores in DTYPE (float32 by default); the
CPU run computes in float64. Passes when every output's relative error (Frobenius norm) is under
the spec's cap for DTYPE. Usage: scripts/check_run_gpu.py PATH/TO/flashrnn [DTYPE [BACKEND]]"""
import os, subprocess, sys, tempfile
import numpy as np

CELLS = {"lstm": (4, 4, 4, 2), "slstm": (4, 4, 4, 4), "gru": (3, 3, 4, 1), "elman": (1, 1, 1, 1)}
CAPS = {"float32": 1e-5, "float16": 1e-2, "bfloat16": 3e-2}
OUTPUTS = ("states", "last_states", "d_wx", "d_r", "d_b", "d_states")

binary = sys.argv[1]
dtype = sys.argv[2] if len(sys.argv) > 2 else "float32"
backend = sys.argv[3] if len(sys.argv) > 3 else "cuda-alternating"
rng = np.random.default_rng(); failures = 0

def run(folder, cell, backend, dtype, out):
    args = [binary, "run", "--backend", backend, "--dtype", dtype, "--cell", cell, "--out", os.path.join(folder, out)]
    for flag, name in (("--wx", "wx"), ("--r", "r"), ("--b", "b"), ("--states", "s0"), ("--d-states", "dS"), ("--d-last", "dL")):
        args += [flag, os.path.join(folder, name + ".npy")]
    subprocess.run(args, check=True)
    return {n: np.load(os.path.join(folder, out, n + ".npy")).astype(np.float64) for n in OUTPUTS}

for cell, (GR, GW, GT, S) in CELLS.items():
    B, T, N, D = 5, 9, 2, 20
    with tempfile.TemporaryDirectory() as folder:
        x = {"wx": rng.standard_normal((B, T, GW, N, D)), "r": rng.standard_normal((GR, N, D, D)) / np.sqrt(D),
             "b": rng.standard_normal((GT, N, D)), "s0": rng.standard_normal((S, B, N, D)),
             "dS": rng.standard_normal((S, B, T, N, D)), "dL": rng.standard_normal((S, B, N, D))}
        if cell == "slstm":
            x["s0"][2] = 1 + np.abs(x["s0"][2])  # n ≥ 1
            x["dS"][1:] = 0; x["dL"][1:] = 0
        for k, v in x.items(): np.save(os.path.join(folder, k + ".npy"), v.astype(np.float32))
        cpu = run(folder, cell, "cpu", "float64", "cpu")
        gpu = run(folder, cell, backend, dtype, "gpu")
        errors = {n: np.linalg.norm(gpu[n] - cpu[n]) / max(np.linalg.norm(cpu[n]), 1e-30) for n in OUTPUTS}
        worst = max(errors.values())
        ok = worst < CAPS[dtype]
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} {cell} {dtype}: " + ", ".join(f"{n} {e:.1e}" for n, e in errors.items()))
print(f"{4 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
