#!/usr/bin/env bash
# dp2's second call: why the cuda-alternating checkpoints differed (run-to-run: db is summed with
# atomicAdd), and the same plain-vs-NCCL comparison on the CPU backend, which is deterministic.
set -uo pipefail
BIN=.device-bin/dp2
OUT=${OUT:-/tmp/dp2-out}; mkdir -p "$OUT"
F=/tmp/flashrnn-dp2; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/dp2-kernel-cache
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
echo "== nccl-check with the PyTorch wheel's NCCL named explicitly"
FLASHRNN_LIBNCCL=/opt/torch/.venv/lib/python3.12/site-packages/nvidia/nccl/lib/libnccl.so.2 timeout 30 "$F" nccl-check --gpus 1
common="parity --steps 200 --eval-sequences 64 --no-contrast --report-every 0"
for backend in cuda-alternating cpu; do
  for run in plain nccl plain2; do
    extra=""; [ $run = nccl ] && extra="--gpus 1 --nccl"
    echo "== train $common --backend $backend $extra ($run)"
    timeout 60 "$F" train $common --backend $backend $extra --out /tmp/dp2-$backend-$run > "$OUT/$backend-$run.out" 2> "$OUT/$backend-$run.err"; echo "rc=$?"
    grep -E "^(gradients|trained)" "$OUT/$backend-$run.err"; grep -E "^193" "$OUT/$backend-$run.out"
    grep '^step' "$OUT/$backend-$run.err" | sed -E 's/ +[0-9]+ seq\/s.*//' > "$OUT/$backend-$run.steps"
  done
  echo "== $backend: step lines differing, plain vs nccl: $(diff "$OUT/$backend-plain.steps" "$OUT/$backend-nccl.steps" | grep -c '^<'), plain vs plain2: $(diff "$OUT/$backend-plain.steps" "$OUT/$backend-plain2.steps" | grep -c '^<') (of $(wc -l < "$OUT/$backend-plain.steps"))"
done
python3 - <<'PY'
from safetensors.numpy import load_file
import numpy as np
for backend in ["cuda-alternating", "cpu"]:
    a = load_file(f"/tmp/dp2-{backend}-plain/checkpoint.safetensors")
    for other in ["nccl", "plain2"]:
        b = load_file(f"/tmp/dp2-{backend}-{other}/checkpoint.safetensors")
        same = sorted(a) == sorted(b) and all(a[k].tobytes() == b[k].tobytes() for k in a)
        worst = max((float(np.max(np.abs(a[k] - b[k]))) / max(float(np.max(np.abs(a[k]))), 1e-30), k) for k in a if not k.startswith("optimizer"))
        print(f"{backend} plain vs {other}: {len(a)} tensors bitwise identical: {same}; largest parameter difference / tensor max: {worst[0]:.2e} ({worst[1]})")
PY
