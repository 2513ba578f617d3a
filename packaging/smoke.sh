#!/usr/bin/env bash
# Smoke-test a built bundle with no Python anywhere on PATH, from a folder outside the repository:
#   1. `shrinkwise --version`
#   2. `shrinkwise demo --out DIR` (headless: intake, ONNX export, profile, baseline incl. the memory probe child)
#   3. `shrinkwise run PROJECT TECHNIQUE` for int8_static, fp16 and prune_structured (the runner's worker process,
#      i.e. the bundle started as `-m MODULE`; onnxruntime quantization, onnxconverter-common, torch + torch-pruning)
#   4. `shrinkwise gui --demo` offscreen, quit by the launcher after SHRINKWISE_SMOKE_QUIT_MS, with a screenshot
# Usage: packaging/smoke.sh [dist/shrinkwise/shrinkwise]   (run before every release; `make package-smoke`)
set -euo pipefail

EXE=${1:-dist/shrinkwise/shrinkwise}
EXE=$(cd "$(dirname "$EXE")" && pwd)/$(basename "$EXE")
[ -x "$EXE" ] || { echo "smoke: no bundle at $EXE (run make package)" >&2; exit 1; }
GUI_MS=${SMOKE_GUI_MS:-20000}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shrinkwise-smoke.XXXXXX")
KEEP=${SMOKE_KEEP:-0}
cleanup() { if [ "$KEEP" = 1 ]; then echo "smoke: kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
mkdir -p "$WORK/empty-bin" "$WORK/home" "$WORK/cwd"
cd "$WORK/cwd"

# A bare environment: no Python on PATH (an empty folder), no PYTHONPATH, no virtualenv, a fresh HOME.
# Extra NAME=VALUE words may come before the command: `run NAME=VALUE "$EXE" ARGS`.
run() {
    timeout "${SMOKE_TIMEOUT_S:-600}" env -i PATH="$WORK/empty-bin" HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/data" \
        XDG_CONFIG_HOME="$WORK/home/config" XDG_CACHE_HOME="$WORK/home/cache" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen "$@"
}
if run /bin/sh -c 'command -v python3 || command -v python' >/dev/null 2>&1; then
    echo "smoke: python is reachable on the test PATH; the check would prove nothing" >&2; exit 1
fi
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
timed() { local t0=$SECONDS rc=0; "$@" || rc=$?; echo "smoke: ($((SECONDS - t0)) s)"; return $rc; }

echo "smoke: bundle $EXE"
echo "== 0. every module of ours imports inside the bundle"
out=$(timed run "$EXE" -c '
import importlib, pkgutil
names = []
for pkg in ("shrinkwise",):
    mod = importlib.import_module(pkg)
    names += [m.name for m in pkgutil.walk_packages(mod.__path__, pkg + ".") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(f"imported {len(names)} modules")' 2>&1) || { echo "$out"; fail "a module does not import in the bundle"; }
echo "$out"
echo "== 1. --version"
out=$(timed run "$EXE" --version) || fail "--version exited $?"
echo "$out"
grep -Eq '^shrinkwise [0-9]+\.[0-9]+' <<<"$out" || fail "--version printed no version"
grep -q '0+unknown' <<<"$out" && fail "--version could not read the package metadata"

echo "== 2. demo --out (headless)"
out=$(timed run "$EXE" demo --out "$WORK/demo" 2>&1) || { echo "$out"; fail "demo exited non-zero"; }
echo "$out"
PROJECT="$WORK/demo/digits-demo.shrinkwise.json"
[ -f "$PROJECT" ] || fail "no project file at $PROJECT"
grep -q 'baseline: accuracy' <<<"$out" || fail "demo measured no baseline"
grep -q '"peak_memory_mb"' "$PROJECT" || fail "no peak memory measured (the memory probe runs the bundle as -c CODE)"

echo "== 2b. TorchScript intake (torch.jit.trace, save, load and ONNX export inside the bundle)"
out=$(timed run "$EXE" -c '
import sys, torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(16, 4)
    def forward(self, x):
        return torch.relu(self.fc(x))
torch.jit.save(torch.jit.trace(Net().eval(), torch.zeros(1, 16)), sys.argv[1])
print("traced with torch", torch.__version__)' "$WORK/scripted.pt" 2>&1) || { echo "$out"; fail "torch.jit.trace failed in the bundle"; }
echo "$out"
out=$(timed run "$EXE" new "$WORK/ts/ts.shrinkwise.json" --model "$WORK/scripted.pt" --input-shape x:1,16 2>&1) \
    || { echo "$out"; fail "TorchScript intake failed"; }
echo "$out"

echo "== 3. run techniques (worker process)"
for technique in ${SMOKE_TECHNIQUES:-int8_static fp16 prune_structured}; do
    out=$(timed run "$EXE" run "$PROJECT" "$technique" --time-limit 300 2>&1) || { echo "$out"; fail "run $technique exited non-zero"; }
    grep -v '^ *[0-9]*% ' <<<"$out"
    grep -q ": finished" <<<"$out" || fail "run $technique did not finish"
done

echo "== 4. gui --demo (offscreen, quits after ${GUI_MS} ms)"
out=$(timed run SHRINKWISE_SMOKE_QUIT_MS="$GUI_MS" SHRINKWISE_SMOKE_SCREENSHOT="$WORK/gui.png" "$EXE" gui --demo 2>&1) || { echo "$out"; fail "gui exited non-zero"; }
grep -v 'propagateSizeHints' <<<"$out" || true
grep -q "^smoke: window '.*Shrinkwise" <<<"$out" || fail "no Shrinkwise window was shown"
[ -s "$WORK/gui.png" ] || fail "no screenshot"
[ -f "$WORK/home/data/shrinkwise/demo/digits-demo.shrinkwise.json" ] || fail "the GUI did not build the demo project"
if [ -n "${SMOKE_SCREENSHOT_OUT:-}" ]; then cp "$WORK/gui.png" "$SMOKE_SCREENSHOT_OUT"; fi

echo "smoke: all checks passed"
