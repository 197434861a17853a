# Sourced by the device-round scripts: unpacks "$BIN/flashrnn.gz" to "$F" and prepares the kernel
# disk cache in "$FLASHRNN_CACHE_DIR" from "$BIN/cache.tgz" when present (filled on a CPU machine
# with `flashrnn compile-kernels --arch sm_90a --fill-cache`, so the round compiles nothing).
gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR; mkdir -p "$FLASHRNN_CACHE_DIR"
[ -e "$BIN/cache.tgz" ] && tar -xzf "$BIN/cache.tgz" -C "$FLASHRNN_CACHE_DIR"
# The cache folder names the NVRTC version it was filled with; offer it under nearby versions too.
for d in "$FLASHRNN_CACHE_DIR"/*; do for v in 13.0 13.1 13.2; do
  n=$(echo "$d" | sed "s/nvrtc13\.[0-9]*/nvrtc$v/"); [ -e "$n" ] || cp -r "$d" "$n"; done; done
