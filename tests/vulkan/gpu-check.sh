#!/usr/bin/env bash
# The whole GPU validation in one run that fits a 10-minute device slot:
#   1. the device listing (what was built, offered, and is in use);
#   2. the Vulkan op tests with the fast paths on (the default: cooperative
#      matrices where offered; the coopmat test's hardware cases must run, not
#      skip), then off (TD_VULKAN_COOPMAT=0: tiled matmul, scalar attention);
#   3. `verify` on every golden (test-golden-parity on Vulkan), fast paths on
#      and off;
#   4. `thinkdiff bench` on every workload this build knows (figures printed,
#      not asserted), fast paths on and off.
#
#   tests/vulkan/gpu-check.sh [--lavapipe] [--prebuilt DIR] [BUILD_DIR]
#   tests/vulkan/gpu-check.sh --pack DIR [BUILD_DIR]
#
# BUILD_DIR defaults to build; it is built first when meson and ninja are there.
# Each step gets STEP_LIMIT seconds (default 150) and the whole run TOTAL_LIMIT
# (default 540): a step that would start past the budget is reported as not run
# and fails the check. Exit status non-zero when any step fails.
#
# --lavapipe proves the script on a CPU Vulkan driver: "fast paths on" is then
# TD_VULKAN_EMULATE_COOPMAT=1, the golden run takes the components that finish
# in seconds, bench runs --small shapes once, and the hardware cases may skip.
#
# On the device machine (no compiler, glslang or GLib headers there), build
# here and carry the binaries with the libraries they need:
#   echo /.gpu/ >> .git/info/exclude
#   meson setup build-release --buildtype=release && ninja -C build-release
#   tests/vulkan/gpu-check.sh --pack .gpu build-release
# (.gpu: stripped binaries and libraries, about 30 MiB from a debug build; with
# the tracked tree, about 32 MiB, that is close to the 64 MiB a call carries)
# then one `run` with carry [".gpu", ".gl"] (.gl: the Vulkan loader packages,
# as /work/.library/device/README.md describes) and the command
#   for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig;
#   tests/vulkan/gpu-check.sh --prebuilt .gpu 2>&1 | tee $OUT/gpu-check.log
# and timeout_s 600.
#
# Which cooperative-matrix kernels the pack holds is decided when the build is
# configured: shaders/meson.build builds the NV ones (GL_NV_cooperative_matrix),
# the KHR ones (GL_KHR_cooperative_matrix), the NV cooperative matrix 2 one and
# the bf16 KHR one (GL_EXT_bfloat16) only where the glslangValidator it finds
# compiles them. Debian 12's glslang compiles the NV ones only; for the others
# configure a build directory of its own with a newer glslang (15.3.0 or later,
# e.g. the Flatpak manifest's) and its spirv-val named in a meson native file,
# which every later regeneration keeps (a glslang that is only first on PATH is
# looked up again, and lost, when ninja reconfigures without that PATH):
#   printf "[binaries]\nglslangValidator = '%s'\nspirv-val = '%s'\n" \
#     /path/to/glslang/bin/glslangValidator /path/to/glslang/bin/spirv-val > glslang.ini
#   meson setup build-release --buildtype=release --native-file glslang.ini
#   ninja -C build-release && meson test -C build-release spirv-validate
#   tests/vulkan/gpu-check.sh --pack .gpu build-release
# The binaries record what was compiled; the device listing below prints it
# ("vulkan shaders built: ..."). On a device offering both NV and KHR cooperative
# matrices (NVIDIA) with the KHR kernels in the pack, the coopmat op test runs
# once more on the KHR kernels (TD_VULKAN_COOPMAT_API=khr). With --prebuilt on
# an NVIDIA device, a pack without any NV cooperative-matrix kernel fails the
# check at once.
set -uo pipefail
cd "$(dirname "$0")/../.."

lavapipe=0
pack=""
prebuilt=""
while [ $# -gt 0 ]; do
  case $1 in
    --lavapipe) lavapipe=1 ;;
    --pack) pack=$2; shift ;;
    --prebuilt) prebuilt=$2; shift ;;
    -*) echo "gpu-check: unknown option $1"; exit 2 ;;
    *) break ;;
  esac
  shift
done
build=${1:-build}
step_limit=${STEP_LIMIT:-150}
total_limit=${TOTAL_LIMIT:-540}
started=$SECONDS

op_tests="test-vulkan-coopmat test-vulkan-matmul-family test-vulkan-ops-dense test-vulkan-ops-spatial
          test-vulkan-fusions test-vulkan-device test-vulkan-lifetime test-vulkan-tile-table test-vulkan-coopmat-tiles"
binaries="engine/cli/thinkdiff engine/cli/thinkdiff-dev tests/models/test-golden-parity"
for t in $op_tests; do binaries="$binaries tests/vulkan/$t"; done

# --pack: the binaries under DIR/build (same layout) and every library they
# load but the C library and the Vulkan loader under DIR/lib.
if [ -n "$pack" ]; then
  mkdir -p "$pack/lib" || exit 1
  for b in $binaries; do
    [ -x "$build/$b" ] || { echo "gpu-check: no $build/$b (build first)"; exit 1; }
    mkdir -p "$pack/build/$(dirname "$b")" && cp "$build/$b" "$pack/build/$b" || exit 1
    command -v strip >/dev/null && strip --strip-unneeded "$pack/build/$b"
    ldd "$build/$b" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
      case $(basename "$lib") in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*|libvulkan.so.*) ;;
        *) cp -L "$lib" "$pack/lib/" ;;
      esac
    done
  done
  command -v strip >/dev/null && strip --strip-unneeded "$pack"/lib/*
  # The device machine takes the tree and the carried folders, 64 MiB in all.
  du -sh "$pack"
  exit 0
fi

if [ -n "$prebuilt" ]; then
  build=$prebuilt/build
  export LD_LIBRARY_PATH=$PWD/$prebuilt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
elif command -v meson >/dev/null && command -v ninja >/dev/null; then
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=release || exit 1
  fi
  ninja -C "$build" || exit 1
fi
cli=$build/engine/cli/thinkdiff
dev_cli=$build/engine/cli/thinkdiff-dev
[ -x "$cli" ] || { echo "gpu-check: no $cli (build first)"; exit 1; }
[ -x "$dev_cli" ] || dev_cli=$cli

# Fast paths on: the default on a GPU, emulated on lavapipe.
fast_on="TD_VULKAN_EMULATE_COOPMAT=0"
[ $lavapipe = 1 ] && fast_on="TD_VULKAN_EMULATE_COOPMAT=1"
fast_off="TD_VULKAN_COOPMAT=0"

echo "== devices"
listing=$("$cli" devices) || exit 1
echo "$listing"
built=$(echo "$listing" | grep "^vulkan shaders built:")
if [ -n "$prebuilt" ] && echo "$listing" | grep -q "^vulkan:[0-9]*: NVIDIA" \
   && echo "$built" | grep -q "NV cooperative matrix no" && echo "$built" | grep -q "NV cooperative matrix 2 no"; then
  echo "gpu-check: FAIL: this is an NVIDIA device but the pack in $prebuilt has no NV cooperative-matrix kernels"
  echo "gpu-check: (its glslang compiled neither GL_NV_cooperative_matrix nor GL_NV_cooperative_matrix2; rebuild the pack)"
  exit 1
fi
if [ $lavapipe = 0 ] && ! echo "$listing" | grep -q "cooperative-matrix matmul: available, enabled"; then
  echo "gpu-check: FAIL: no device runs the cooperative-matrix kernels; see the reason above"
  exit 1
fi

# As meson's test environment, with the validation layer where installed
# (REQUIRE_VALIDATION=1 makes its absence an error; on the device machine it
# is there when the vulkan-validationlayers package travels in .gl too).
export G_DEBUG=fatal-warnings TD_TEST_DATA=$PWD/tests/data
export TD_BUILD_DIR=$build TD_CLI=$cli TD_VULKAN_VALIDATION=1 TD_REQUIRE_VALIDATION=${REQUIRE_VALIDATION:-0}
status=0
not_run=""

# run_step NAME COMMAND...: runs one step within its limit and what is left of
# the total, prints its TAP summary lines, and records a failure.
run_step () {
  local name=$1
  shift
  local left=$((total_limit - (SECONDS - started)))
  if [ $left -lt 10 ]; then
    echo "== $name: not run (the ${total_limit} s budget is spent)"
    not_run="$not_run; $name"
    status=1
    return 1
  fi
  local limit=$((left < step_limit ? left : step_limit))
  echo "== $name (limit $limit s)"
  local log rc step_start=$SECONDS
  log=$(timeout "$limit" "$@" 2>&1)
  rc=$?
  echo "$log" | grep -E "^(ok|not ok)|^# |ERROR|FAIL|validation|ms|TFLOP|GB/s" | grep -v "^# \(Start\|End\) of" | head -80
  echo "   ($((SECONDS - step_start)) s, exit $rc)"
  if [ $rc -ne 0 ]; then
    echo "gpu-check: FAIL: $name exited $rc$([ $rc = 124 ] && echo ' (time limit)')"
    status=1
  fi
  return $rc
}

# Golden components: all of them on a GPU; on lavapipe those that take seconds.
parity_components=""
[ $lavapipe = 1 ] && parity_components="t5-encoder,clip-text,eva-vision,qwen2-vl,gguf-matmul,flux-transformer,flux-vae"

for mode in on off; do
  fast=$([ $mode = on ] && echo "$fast_on" || echo "$fast_off")
  for t in $op_tests; do
    run_step "$t (fast paths $mode)" env "$fast" "$build/tests/vulkan/$t"
  done
  run_step "verify on the goldens (fast paths $mode)" env "$fast" TD_TEST_BACKEND=vulkan \
    ${parity_components:+TD_PARITY_COMPONENTS=$parity_components} "$build/tests/models/test-golden-parity"
done

# On a GPU the real cooperative-matrix instructions must have run.
if [ $lavapipe = 0 ]; then
  for t in matmul attention; do
    if ! "$build/tests/vulkan/test-vulkan-coopmat" -p "/vulkan/coopmat/hardware-$t" 2>&1 \
         | grep -q "^ok .*hardware-$t$"; then
      echo "gpu-check: FAIL: the hardware cooperative-matrix $t case did not run and pass"
      status=1
    fi
  done
fi

# The KHR kernels on a device that runs the NV ones by default but offers the KHR
# configuration too (NVIDIA), when the pack has them: their hardware cases must
# run on the KHR kernels and pass.
if [ $lavapipe = 0 ] && echo "$built" | grep -q "KHR cooperative matrix yes" \
   && echo "$listing" | grep -q "KHR cooperative matrix: f16 16x16x16 yes" \
   && ! echo "$listing" | grep -q "KHR cooperative matrix: .* — not usable"; then
  run_step "test-vulkan-coopmat on the KHR kernels" env TD_VULKAN_COOPMAT_API=khr \
    "$build/tests/vulkan/test-vulkan-coopmat"
  khr_log=$(TD_VULKAN_COOPMAT_API=khr "$build/tests/vulkan/test-vulkan-coopmat" -p /vulkan/coopmat/hardware-matmul 2>&1)
  if ! echo "$khr_log" | grep -q "^# KHR kernels" || ! echo "$khr_log" | grep -q "^ok .*hardware-matmul$"; then
    echo "gpu-check: FAIL: the hardware cooperative-matrix matmul did not run and pass on the KHR kernels"
    status=1
  fi
fi

# Every workload the bench usage names, on random weights of the real shapes
# (Qwen2-VL-7B included: no checkpoint travels).
usage=$("$dev_cli" bench --help 2>&1)
workloads=""
for w in flux-step vae-decode t5 qwen-prefill qwen-decode lvlm-e2e; do
  echo "$usage" | grep -qw -- "$w" && workloads="$workloads $w"
done
bench_args="--backend vulkan --steps 2"
[ $lavapipe = 1 ] && bench_args="--backend vulkan --small --steps 1"
for w in $workloads; do
  # One timed image end to end: its 28 transformer steps dominate the budget.
  extra_args=""
  [ $w = lvlm-e2e ] && [ $lavapipe = 0 ] && extra_args="--steps 1"
  for mode in on off; do
    fast=$([ $mode = on ] && echo "$fast_on" || echo "$fast_off")
    run_step "bench $w (fast paths $mode)" env "$fast" TD_VULKAN_VALIDATION=0 "$dev_cli" bench "$w" $bench_args \
      $extra_args
  done
done

# The quantised formats a small card uses, end to end (fast paths on only).
if echo " $workloads " | grep -q " lvlm-e2e "; then
  for wf in q8_0 q4_k; do
    run_step "bench lvlm-e2e --weights $wf" env "$fast_on" TD_VULKAN_VALIDATION=0 "$dev_cli" bench lvlm-e2e \
      $bench_args --weights $wf $([ $lavapipe = 0 ] && echo "--steps 1")
  done
fi

echo "gpu-check: $((SECONDS - started)) s of ${total_limit} s"
[ -n "$not_run" ] && echo "gpu-check: not run:${not_run#;}"
[ $status -eq 0 ] && echo "gpu-check: PASS" || echo "gpu-check: FAIL"
exit $status
