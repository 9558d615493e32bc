#!/usr/bin/env bash
# One-command GPU acceptance of gpuqd (target: under 10 minutes on an H100).
#
#   bash benchmarks/gpu_acceptance.sh            # from anywhere inside the repository
#
# Steps (each with a time cap; the last line of output is one summary table):
#   1. environment: a venv with --system-site-packages (so a preinstalled CuPy, NumPy, SciPy, pytest
#      are used; works offline) and gpuqd installed with --no-deps (never pulls cupy-cuda12x in beside
#      an installed cupy-cuda13x); fails if two CuPy packages are installed;
#   2. device probe: CuPy imports, sees a device, NVRTC compiles and launches a tiny kernel;
#   3. pytest -m gpu (fails on any skip: on a GPU machine nothing may be skipped);
#   4. benchmarks/llg.py and benchmarks/transport.py (GPU rows with their fraction of the bound;
#      benchmarks/kernel_sass.py first if nvcc is present, for the issue-bound ceiling);
#   5. benchmarks/gpu_compare.py: NumPy vs CuPy on a small switching diagram and a compacting
#      first-passage run.
# Environment: PYTHON (interpreter for the venv, default python3), GPUQD_ACCEPT_VENV (venv path,
# default $TMPDIR/gpuqd-accept-venv). Logs and JSON go to benchmarks/results/.
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
PYTHON="${PYTHON:-python3}"
VENV="${GPUQD_ACCEPT_VENV:-${TMPDIR:-/tmp}/gpuqd-accept-venv}"
RESULTS="$ROOT/benchmarks/results"
LOGS="$RESULTS/gpu_acceptance"
STATUS="$LOGS/status.tsv"
mkdir -p "$LOGS"
: > "$STATUS"
START_ALL=$SECONDS

# step NAME CAP_SECONDS COMMAND... : run with a time cap, log to $LOGS/NAME.log, record the status
step() {
    local name="$1" cap="$2"
    shift 2
    local start=$SECONDS rc
    echo "=== $name (cap ${cap}s): $*"
    timeout --kill-after=10 "$cap" bash -c '"$@"' step "$@" 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && echo "=== $name: timed out after ${cap}s"
    printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" >> "$STATUS"
    return "$rc"
}

# 1. environment ---------------------------------------------------------------------------------
setup_env() {
    "$PYTHON" -m venv --system-site-packages "$VENV" || return 1
    local py="$VENV/bin/python"
    if ! "$py" -m pip install --no-deps --no-build-isolation --no-index -q -e "$ROOT"; then
        # no build backend available offline: put the source tree on the venv's path instead
        echo "pip install -e failed (no setuptools offline?): adding $ROOT to the venv by a .pth file"
        local site
        site="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || return 1
        echo "$ROOT" > "$site/gpuqd_source.pth" || return 1
    fi
    "$py" - <<'EOF'
import importlib.metadata as md
import sys
cupys = sorted({d.metadata["Name"] for d in md.distributions()
                if (d.metadata["Name"] or "").lower().startswith("cupy")})
print("python", sys.version.split()[0], "| CuPy distributions:", ", ".join(cupys) or "none")
import gpuqd, numpy, scipy
print("gpuqd from", gpuqd.__file__, "| numpy", numpy.__version__, "| scipy", scipy.__version__)
if len(cupys) > 1:
    sys.exit(f"more than one CuPy package installed ({', '.join(cupys)}): uninstall all but one")
if not cupys:
    sys.exit("no CuPy installed: install exactly one of the extras gpu (CUDA 12.x) or gpu-cuda13 (CUDA 13.x)")
EOF
}

# 2. device probe --------------------------------------------------------------------------------
probe() {
    "$VENV/bin/python" - <<'EOF'
import cupy
n = cupy.cuda.runtime.getDeviceCount()
assert n > 0, "no CUDA device visible"
props = cupy.cuda.runtime.getDeviceProperties(0)
name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
print(f"device 0: {name}, sm_{props['major']}{props['minor']}, {props['multiProcessorCount']} SM, "
      f"{props['totalGlobalMem'] / 2**30:.0f} GiB; {n} device(s)")
print("driver CUDA", cupy.cuda.runtime.driverGetVersion(), "| runtime", cupy.cuda.runtime.runtimeGetVersion(),
      "| NVRTC", cupy.cuda.nvrtc.getVersion(), "| CuPy", cupy.__version__)
kernel = cupy.RawKernel(r'extern "C" __global__ void k(double* x) { x[threadIdx.x] = 2.0 * threadIdx.x; }', "k")
x = cupy.zeros(32)
kernel((1,), (32,), (x,))
assert float(x[31].get()) == 62.0, "tiny kernel gave a wrong result"
print("NVRTC compile + launch: ok")
EOF
}

# 3. pytest -m gpu, failing on skips --------------------------------------------------------------
gpu_tests() {
    local xml="$LOGS/pytest_gpu.xml"
    "$VENV/bin/python" -m pytest -m gpu -q -rs -p no:cacheprovider --junitxml="$xml" tests
    local rc=$?
    "$VENV/bin/python" - "$xml" <<'EOF' || rc=1
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(f"gpu tests: {tests} collected, {skipped} skipped")
if tests == 0 or skipped:
    sys.exit("FAIL: GPU tests were skipped (or none collected) on a GPU machine")
EOF
    return $rc
}

export ROOT PYTHON VENV LOGS
export -f setup_env probe gpu_tests
step environment 240 setup_env || { echo "environment setup failed"; }
PY="$VENV/bin/python"
if [ -x "$PY" ]; then
    step device_probe 120 probe
    step pytest_gpu 300 gpu_tests
    if command -v nvcc > /dev/null; then
        step kernel_sass 90 "$PY" benchmarks/kernel_sass.py
    fi
    step llg_benchmark 150 "$PY" benchmarks/llg.py --quick
    step transport_benchmark 120 "$PY" benchmarks/transport.py
    step numpy_vs_cupy 240 "$PY" benchmarks/gpu_compare.py --engines numpy,cupy
fi
"$PYTHON" benchmarks/gpu_acceptance_summary.py "$STATUS" "$RESULTS" "$((SECONDS - START_ALL))"
