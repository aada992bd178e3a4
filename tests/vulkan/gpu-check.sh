#!/usr/bin/env bash
# Validates the cooperative-matrix matmul (TD_VULKAN_COOPMAT=1) on a real GPU in
# one run: the device listing, the Vulkan op, matmul-family and memory-lifetime tests with the
# fast path on (the coopmat test's hardware case must run, not skip), and
# `thinkdiff bench ops` on the tiled kernel and on cooperative matrices.
#
#   tests/vulkan/gpu-check.sh [BUILD_DIR]     (default: build)
#
# Builds BUILD_DIR first when meson and ninja are there; otherwise runs the
# binaries already in it. Exits non-zero on the first failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}

if command -v meson >/dev/null && command -v ninja >/dev/null; then
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=release || exit 1
  fi
  ninja -C "$build" engine/cli/thinkdiff tests/vulkan/test-vulkan-coopmat tests/vulkan/test-vulkan-ops-dense \
    tests/vulkan/test-vulkan-ops-spatial tests/vulkan/test-vulkan-device tests/vulkan/test-vulkan-lifetime \
    tests/vulkan/test-vulkan-matmul-family || exit 1
fi
cli=$build/engine/cli/thinkdiff
[ -x "$cli" ] || { echo "gpu-check: no $cli (build first)"; exit 1; }

echo "== devices (default, then with TD_VULKAN_COOPMAT=1)"
"$cli" devices || exit 1
listing=$(TD_VULKAN_COOPMAT=1 "$cli" devices) || exit 1
echo "$listing" | grep "cooperative-matrix"
if ! echo "$listing" | grep -q "cooperative-matrix matmul: available, enabled"; then
  echo "gpu-check: FAIL: no device enables the cooperative-matrix matmul; see the reason above"
  exit 1
fi

# As meson's test environment, with the validation layer when it is installed.
export G_DEBUG=fatal-warnings TD_TEST_DATA=$PWD/tests/data
export TD_BUILD_DIR=$build TD_CLI=$cli TD_VULKAN_VALIDATION=1
status=0
for t in test-vulkan-coopmat test-vulkan-ops-dense test-vulkan-ops-spatial test-vulkan-device test-vulkan-lifetime \
  test-vulkan-matmul-family; do
  echo "== $t (TD_VULKAN_COOPMAT=1)"
  log=$(TD_VULKAN_COOPMAT=1 "$build/tests/vulkan/$t" 2>&1)
  rc=$?
  echo "$log" | grep -E "^(ok|not ok)|^# |ERROR|validation" | head -60
  if [ $rc -ne 0 ]; then
    echo "gpu-check: FAIL: $t exited $rc"
    status=1
  fi
done
if ! TD_VULKAN_COOPMAT=1 "$build/tests/vulkan/test-vulkan-coopmat" -p /vulkan/coopmat/hardware-matmul 2>&1 \
     | grep -q "^ok .*hardware-matmul$"; then
  echo "gpu-check: FAIL: the hardware cooperative-matrix case did not run and pass"
  status=1
fi

echo "== bench ops: tiled kernel"
"$cli" bench ops --backend vulkan || status=1
echo "== bench ops: cooperative matrices (TD_VULKAN_COOPMAT=1)"
TD_VULKAN_COOPMAT=1 "$cli" bench ops --backend vulkan || status=1

[ $status -eq 0 ] && echo "gpu-check: PASS" || echo "gpu-check: FAIL"
exit $status
