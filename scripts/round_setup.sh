# Sourced by the one-call device-round scripts, after BIN is set, with the round's name:
#   source "$(dirname "$0")/round_setup.sh" NAME
# Sets RESULTS ($OUT, else /tmp: where the script leaves its archive), L (/tmp/NAME-round, the
# logs), F (the unpacked binary) and the kernel cache folder, unpacks BIN (device_binary.sh), and
# defines B (the timing arguments) and stamp (a timestamped section line).
ROUND=$1
RESULTS=${OUT:-/tmp}
L=/tmp/$ROUND-round; mkdir -p "$L"
F=/tmp/flashrnn-$ROUND; FLASHRNN_CACHE_DIR=/tmp/$ROUND-kernel-cache
source "$(dirname "${BASH_SOURCE[0]}")/device_binary.sh"
B="--warmup 2 --reps 5"
stamp() { echo "== $(date -u +%T) $*"; }
