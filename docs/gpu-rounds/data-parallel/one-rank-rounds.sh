#!/usr/bin/env bash
# dp2's two device calls (2026-11-29), as run: `bash one-rank-rounds.sh 1`, then `... 2`, with the
# gzipped static flashrnn in .device-bin/dp2 (the scripts ran from there, logs one-rank-round{1,2}.log).
# 1: NCCL discovery, the one-rank known-sum check, the --gpus refusal on one GPU, parity plain vs.
#    NCCL with one rank on cuda-alternating, step by step and checkpoint tensors.
# 2: why the cuda-alternating checkpoints differed (run to run: db is summed with atomicAdd), and the
#    same comparison on the CPU backend, which is deterministic.
set -uo pipefail
BIN=.device-bin/dp2
OUT=${OUT:-/tmp/dp2-out}; mkdir -p "$OUT"
F=/tmp/flashrnn-dp2; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/dp2-kernel-cache

round1() {
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
env | grep -E '^(NCCL_|TORCH_SYMM|NVSHMEM_)' | sort
echo "PATH=$PATH VIRTUAL_ENV=${VIRTUAL_ENV:-unset}"
echo "== libnccl files"; find / -name 'libnccl.so*' -not -path '/proc/*' 2>/dev/null | head -5
"$F" info
echo "== nccl-check --gpus 1 (discovery as shipped)"
timeout 60 "$F" nccl-check --gpus 1; rc=$?
if [ $rc -ne 0 ]; then
  export FLASHRNN_LIBNCCL=$(find / -name 'libnccl.so.2' -not -path '/proc/*' 2>/dev/null | head -1)
  echo "== discovery failed (rc $rc); again with FLASHRNN_LIBNCCL=$FLASHRNN_LIBNCCL"
  NCCL_DEBUG=INFO timeout 60 "$F" nccl-check --gpus 1 2>&1 | tail -40
fi
echo "== --gpus 2 and --gpus 0 on a one-GPU machine (refusals)"
"$F" train parity --gpus 2 --steps 5 --no-contrast --out /tmp/dp2-x; echo "rc=$?"
"$F" nccl-check --gpus 2; echo "rc=$?"
common="parity --backend cuda-alternating --steps 200 --eval-sequences 128 --no-contrast --report-every 0"
for run in plain nccl plain2; do
  extra=""; [ $run = nccl ] && extra="--gpus 1 --nccl"
  echo "== train $common $extra ($run)"
  timeout 60 "$F" train $common $extra --out /tmp/dp2-$run > "$OUT/$run.out" 2> "$OUT/$run.err"; echo "rc=$?"
  grep -E "^(training|gradients|trained)" "$OUT/$run.err"; cat "$OUT/$run.out"
  grep '^step' "$OUT/$run.err" | sed -E 's/ +[0-9]+ seq\/s.*//' > "$OUT/$run.steps"
done
echo "== step-by-step loss/accuracy: plain vs nccl, plain vs plain2 (no diff output = identical)"
wc -l "$OUT"/*.steps; diff "$OUT/plain.steps" "$OUT/nccl.steps" | head -5; diff "$OUT/plain.steps" "$OUT/plain2.steps" | head -5
sed -n '1p;100p;200p' "$OUT/nccl.steps"
echo "== checkpoint tensors (parameters and AdamW moments) bitwise: plain vs nccl"
python3 - <<'PY'
from safetensors.numpy import load_file
a = load_file("/tmp/dp2-plain/checkpoint.safetensors"); b = load_file("/tmp/dp2-nccl/checkpoint.safetensors")
same = sorted(a) == sorted(b) and all(a[k].tobytes() == b[k].tobytes() for k in a)
print(f"{len(a)} tensors, bitwise identical: {same}")
PY

}

round2() {
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

}

round${1:?round 1 or 2}
