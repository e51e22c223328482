#!/usr/bin/env bash
# Times PyTorch and ONNX Runtime on the shapes of `mfa-coordinator bench kernels`, on the same
# number of threads, right after our own run of those cases, and prints one table with the ratios
# ours/theirs (scripts/peers.py does the timing and the table).
#
# The peers live in a virtual environment of their own, .venv-peers/ at the repository root, made
# on the first run. PyTorch is the CPU build: first the pinned wheel $PEERS_TORCH (pip finds it in
# a local wheel folder named by PIP_FIND_LINKS or, when it exists, $PEERS_WHEELS), otherwise the
# newest CPU build from PyTorch's own CPU index. ONNX Runtime and onnx come from the default index.
# A peer that cannot be installed is reported and left out; the others still run.
#
# Usage: scripts/peers.sh [--threads N] [--case NAME]... [--repeat R] [--binary PATH]
#   --threads N   threads for our kernels and for both peers (default: every core)
#   --case NAME   one of bench kernels' cases (repeatable; default: all of them)
#   --repeat R    fewest timed runs per case and peer (default 5)
#   --binary P    the mfa-coordinator to run (default: .build/release/mfa-coordinator)
# Environment: PYTHON (the interpreter that makes the environment, default python3),
#   PEERS_TORCH (default 2.13.0+cpu), PEERS_WHEELS (default /opt/wheels).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv-peers"
torch_version=${PEERS_TORCH:-2.13.0+cpu}
wheels=${PEERS_WHEELS:-/opt/wheels}
torch_cpu_index=https://download.pytorch.org/whl/cpu

threads=$(nproc)
repeat=5
binary="$root/.build/release/mfa-coordinator"
cases=()
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads=$2; shift 2 ;;
        --case) cases+=("$2"); shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "peers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

if [ ! -x "$binary" ]; then
    echo "peers.sh: $binary is missing: run 'make build' first" >&2
    exit 1
fi

# The environment, made once.
if [ ! -x "$venv/bin/python" ]; then
    echo "making the virtual environment $venv"
    if ! "${PYTHON:-python3}" -m venv "$venv"; then
        echo "peers.sh: could not make a virtual environment with ${PYTHON:-python3}" \
            "(on Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
fi
python="$venv/bin/python"
pip=("$python" -m pip install --disable-pip-version-check --quiet)

has() { "$python" -c "import $1" >/dev/null 2>&1; }

if ! has torch; then
    find_links=()
    if [ -d "$wheels" ]; then find_links=(--find-links "$wheels"); fi
    echo "installing torch==$torch_version (local wheels: ${PIP_FIND_LINKS:-${find_links[1]:-none}})"
    if ! "${pip[@]}" "${find_links[@]}" "torch==$torch_version"; then
        echo "torch==$torch_version is not at hand; trying PyTorch's CPU index"
        "${pip[@]}" --index-url "$torch_cpu_index" torch ||
            echo "PyTorch could not be installed: its column is left out"
    fi
fi
if ! has onnxruntime || ! has onnx; then
    echo "installing onnxruntime and onnx"
    "${pip[@]}" numpy onnxruntime onnx ||
        echo "ONNX Runtime or onnx could not be installed: its column is left out"
fi

ours=$(mktemp)
trap 'rm -f "$ours"' EXIT
case_args=()
for name in ${cases[@]+"${cases[@]}"}; do case_args+=(--case "$name"); done
echo "running ours: $(basename "$binary") bench kernels --json --threads $threads --repeat $repeat ${case_args[*]}"
"$binary" bench kernels --json --threads "$threads" --repeat "$repeat" ${case_args[@]+"${case_args[@]}"} >"$ours"

export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
"$python" "$root/scripts/peers.py" --threads "$threads" --repeat "$repeat" --ours "$ours"
