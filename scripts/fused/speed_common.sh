# Sourced by speed_round.sh and speed_round2.sh: unpacks BIN/flashrnn.gz to $F, sets the kernel
# cache and the sweep, and defines `stamp` and `bench_sweep` (the head-dimension sweep, LSTM
# bfloat16, then the other cells at 64 × 12, JSON into $OUT).
F=/tmp/flashrnn-fspeed; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/fspeed-kernel-cache
SHAPES="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128"
stamp() { echo "== $(date -u +%T) $*"; }
bench_sweep() {
  stamp "bench: head-dimension sweep, lstm bfloat16"
  timeout 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SHAPES" \
      --warmup 2 --reps 5 --json "$OUT/bench-lstm.json"
  for cell in slstm gru elman; do
    stamp "bench: $cell bfloat16 64 x 12"
    timeout 15 "$F" gpu-bench --backend cuda-fused --cell $cell --dtype bfloat16 --shapes "16,1024,12,64" \
        --warmup 2 --reps 5 --json "$OUT/bench-$cell.json"
  done
}
