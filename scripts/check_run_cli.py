#!/usr/bin/env python3
"""Checks `flashrnn run` end to end on fresh random .npy inputs, for all four cells:
forward against an independent NumPy implementation of the spec (float64), and backward
against central finite differences of the loss Σ states·dS + Σ last·dL computed through the
command itself. Usage: scripts/check_run_cli.py PATH/TO/flashrnn"""
import os, subprocess, sys, tempfile
import numpy as np

CELLS = {"lstm": (4, 4, 4, 2), "slstm": (4, 4, 4, 4), "gru": (3, 3, 4, 1), "elman": (1, 1, 1, 1)}
sig = lambda x: 1 / (1 + np.exp(-x))

def reference(cell, wx, R, b, s0):
    B, T = wx.shape[:2]
    s = s0.copy(); out = []
    for t in range(T):
        rh = np.einsum("kndp,bnp->bknd", R, s[0])
        if cell in ("lstm", "slstm", "elman"):
            pre = rh + wx[:, t] + b
        else:  # gru: pre = (g, r, z, n)
            pre = np.stack([rh[:, 0] + b[0], rh[:, 1] + wx[:, t, 0] + b[1],
                            rh[:, 2] + wx[:, t, 1] + b[2], wx[:, t, 2] + b[3]], 1)
        if cell == "lstm":
            c = sig(pre[:, 1]) * s[1] + sig(pre[:, 0]) * np.tanh(pre[:, 2])
            s = np.stack([sig(pre[:, 3]) * np.tanh(c), c])
        elif cell == "slstm":
            L = np.minimum(pre[:, 1], 0) - np.log1p(np.exp(-np.abs(pre[:, 1]))) + s[3]
            m = np.where(s[2] == 0, pre[:, 0], np.maximum(pre[:, 0], L))
            i = np.minimum(np.exp(pre[:, 0] - m), 1); f = np.minimum(np.exp(L - m), 1)
            c = f * s[1] + i * np.tanh(pre[:, 2]); n = np.maximum(f * s[2] + i, 1)
            s = np.stack([sig(pre[:, 3]) * c / n, c, n, m])
        elif cell == "gru":
            r, z = sig(pre[:, 1]), sig(pre[:, 2]); nn = np.tanh(pre[:, 3] + r * pre[:, 0])
            s = np.stack([z * s[0] + (1 - z) * nn])
        else:
            s = np.stack([np.tanh(pre[:, 0])])
        out.append(s)
    return np.stack(out, 2)  # [S, B, T, N, D]

def run(binary, folder, backward):
    args = [binary, "run", "--backend", "cpu", "--dtype", "float64", "--cell", cell]
    for flag, name in (("--wx", "wx"), ("--r", "r"), ("--b", "b"), ("--states", "s0")):
        args += [flag, os.path.join(folder, name + ".npy")]
    if backward:
        args += ["--d-states", os.path.join(folder, "dS.npy"), "--d-last", os.path.join(folder, "dL.npy")]
    out = os.path.join(folder, "out"); args += ["--out", out]
    subprocess.run(args, check=True, stderr=subprocess.DEVNULL)
    return {n: np.load(os.path.join(out, n + ".npy")) for n in
            (["states", "last_states"] + (["d_wx", "d_r", "d_b", "d_states"] if backward else []))}

binary = sys.argv[1]; rng = np.random.default_rng(); failures = 0
for cell, (GR, GW, GT, S) in CELLS.items():
    B, T, N, D = 2, 4, 2, 3
    with tempfile.TemporaryDirectory() as folder:
        x = {"wx": rng.standard_normal((B, T, GW, N, D)), "r": rng.standard_normal((GR, N, D, D)) / np.sqrt(D),
             "b": rng.standard_normal((GT, N, D)), "s0": rng.standard_normal((S, B, N, D))}
        if cell == "slstm": x["s0"][2] = 1 + np.abs(x["s0"][2])  # n ≥ 1
        dS = rng.standard_normal((S, B, T, N, D)); dL = rng.standard_normal((S, B, N, D))
        if cell == "slstm": dS[1:] = 0; dL[1:] = 0
        save = lambda: [np.save(os.path.join(folder, k + ".npy"), v) for k, v in x.items()]
        save(); np.save(os.path.join(folder, "dS.npy"), dS); np.save(os.path.join(folder, "dL.npy"), dL)
        got = run(binary, folder, True)
        ref = reference(cell, x["wx"], x["r"], x["b"], x["s0"])
        fw = np.linalg.norm(got["states"] - ref) / np.linalg.norm(ref)
        loss = lambda o: (o["states"] * dS).sum() + (o["last_states"] * dL).sum()
        worst = 0.0
        for key, grad in (("wx", "d_wx"), ("r", "d_r"), ("b", "d_b"), ("s0", "d_states")):
            for _ in range(4):
                idx = tuple(rng.integers(0, n) for n in x[key].shape)
                if cell == "slstm" and key == "s0" and idx[0] == 3: continue  # m carries no gradient
                h = 1e-6; base = x[key][idx]
                x[key][idx] = base + h; save(); up = loss(run(binary, folder, False))
                x[key][idx] = base - h; save(); down = loss(run(binary, folder, False))
                x[key][idx] = base; save()
                fd = (up - down) / (2 * h); ours = got[grad][idx]
                worst = max(worst, abs(fd - ours) / max(abs(fd), 1e-3))
        ok = fw < 1e-12 and worst < 1e-6
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} {cell}: forward vs NumPy {fw:.1e}, backward vs finite differences (16 entries) {worst:.1e}")
print(f"{4 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
