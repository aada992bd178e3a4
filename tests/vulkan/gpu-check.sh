#!/usr/bin/env bash
# The whole GPU validation in one run that fits a 10-minute device slot:
#   1. the device listing (what was built, offered, and is in use);
#   2. the Vulkan op tests with every fast path on (TD_VULKAN_COOPMAT=1;
#      the coopmat test's hardware cases must run, not skip), then with
#      TD_VULKAN_COOPMAT=0 (tiled matmul, scalar attention);
#   3. `verify` on every golden (test-golden-parity on Vulkan), fast paths on
#      and off;
#   4. `thinkdiff bench` on every workload it knows (figures printed, not
#      asserted), fast paths on and off.
#
#   tests/vulkan/gpu-check.sh [BUILD_DIR]     (default: build)
#
# Builds BUILD_DIR first when meson and ninja are there; otherwise runs the
# binaries already in it. Each step has its own time limit (STEP_LIMIT seconds,
# default 120); the script exits non-zero when any step fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
limit=${STEP_LIMIT:-120}
started=$SECONDS

if command -v meson >/dev/null && command -v ninja >/dev/null; then
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=release || exit 1
  fi
  ninja -C "$build" || exit 1
fi
cli=$build/engine/cli/thinkdiff
[ -x "$cli" ] || { echo "gpu-check: no $cli (build first)"; exit 1; }

echo "== devices"
listing=$(TD_VULKAN_COOPMAT=1 "$cli" devices) || exit 1
echo "$listing"
if ! echo "$listing" | grep -q "cooperative-matrix matmul: available, enabled"; then
  echo "gpu-check: FAIL: no device runs the cooperative-matrix kernels; see the reason above"
  exit 1
fi

# As meson's test environment, with the validation layer required.
export G_DEBUG=fatal-warnings TD_TEST_DATA=$PWD/tests/data
export TD_BUILD_DIR=$build TD_CLI=$cli TD_VULKAN_VALIDATION=1 TD_REQUIRE_VALIDATION=1
status=0

# run_step NAME COMMAND...: runs one step under the time limit, prints its TAP
# summary lines, and records a failure.
run_step () {
  local name=$1
  shift
  echo "== $name"
  local log rc
  log=$(timeout "$limit" "$@" 2>&1)
  rc=$?
  echo "$log" | grep -E "^(ok|not ok)|^# |ERROR|validation|max_abs_err" | head -80
  if [ $rc -ne 0 ]; then
    echo "gpu-check: FAIL: $name exited $rc"
    status=1
  fi
  return $rc
}

op_tests="test-vulkan-coopmat test-vulkan-matmul-family test-vulkan-ops-dense test-vulkan-ops-spatial
          test-vulkan-fusions test-vulkan-device test-vulkan-lifetime"
for mode in on off; do
  coopmat=$([ $mode = on ] && echo 1 || echo 0)
  for t in $op_tests; do
    run_step "$t (fast paths $mode)" env TD_VULKAN_COOPMAT=$coopmat "$build/tests/vulkan/$t"
  done
  run_step "verify on every golden (fast paths $mode)" env TD_VULKAN_COOPMAT=$coopmat TD_TEST_BACKEND=vulkan \
    "$build/tests/models/test-golden-parity"
done

for t in matmul attention; do
  if ! "$build/tests/vulkan/test-vulkan-coopmat" -p "/vulkan/coopmat/hardware-$t" 2>&1 | grep -q "^ok .*hardware-$t$"; then
    echo "gpu-check: FAIL: the hardware cooperative-matrix $t case did not run and pass"
    status=1
  fi
done

# Every workload this build's `thinkdiff bench --help` names (`ops` before the
# workload set lands).
usage=$("$cli" bench --help 2>&1)
workloads=""
for w in ops flux-step vae-decode t5 qwen-prefill qwen-decode lvlm-e2e; do
  echo "$usage" | grep -qw -- "$w" && workloads="$workloads $w"
done
for w in $workloads; do
  for mode in on off; do
    coopmat=$([ $mode = on ] && echo 1 || echo 0)
    echo "== bench $w (fast paths $mode)"
    TD_VULKAN_COOPMAT=$coopmat timeout "$limit" "$cli" bench "$w" --backend vulkan || status=1
  done
done

echo "gpu-check: $((SECONDS - started)) s"
[ $status -eq 0 ] && echo "gpu-check: PASS" || echo "gpu-check: FAIL"
exit $status
