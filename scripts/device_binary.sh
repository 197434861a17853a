# Sourced by the device-round scripts: unpacks "$BIN/flashrnn.gz" to "$F" and prepares the kernel
# disk cache in "$FLASHRNN_CACHE_DIR" from "$BIN/cache.tgz" when present (filled on a CPU machine
# with `flashrnn compile-kernels --arch sm_90a --fill-cache`, so the round compiles nothing).
gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR; mkdir -p "$FLASHRNN_CACHE_DIR"
[ -e "$BIN/cache.tgz" ] && tar -xzf "$BIN/cache.tgz" -C "$FLASHRNN_CACHE_DIR"
# The cache folder names the NVRTC version it was filled with; offer it under nearby versions too.
for d in "$FLASHRNN_CACHE_DIR"/*; do for v in 13.0 13.1 13.2; do
  n=$(echo "$d" | sed "s/nvrtc13\.[0-9]*/nvrtc$v/"); [ -e "$n" ] || cp -r "$d" "$n"; done; done
# No cache from the CPU machine (a full fill takes ~15-40 min on two cores): fill it here, in 12
# parallel shards by cell and dtype ("lstm" shards also match "slstm": harmless, atomic writes).
if [ ! -e "$BIN/cache.tgz" ] && [ "${FLASHRNN_DEVICE_FILL:-1}" = 1 ]; then
  echo "== $(date -u +%T) filling the kernel cache on the device (sm_90a, 12 shards)"
  for c in lstm slstm gru elman; do for t in float32 float16 bfloat16; do
    "$F" compile-kernels --arch sm_90a --fill-cache --only "$c $t" > "/tmp/fill-$c-$t.log" 2>&1 &
  done; done
  # dR modules name no cell (WeightGradientModule: one per storage type, tile and product kind).
  "$F" compile-kernels --arch sm_90a --fill-cache --only "dR " > "/tmp/fill-dR.log" 2>&1 &
  wait
  echo "== $(date -u +%T) cache filled: $(cat /tmp/fill-*.log | grep -c '^ok') modules compiled, $(cat /tmp/fill-*.log | grep -c '^FAIL\|failed:') failures"
fi
