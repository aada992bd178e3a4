#!/usr/bin/env python3
"""Runs spirv-val over every SPIR-V module a build compiled.

shaders/meson.build writes each variant as a C header holding a uint32_t
array (BUILD/shaders/NAME.spv.h). This script reads those words back into a
module and validates it for the Vulkan version that SPIR-V version belongs to:
1.6 modules (the GL_KHR_cooperative_matrix kernels and the NV cooperative
matrix 2 ones, compiled for vulkan1.3) with --target-env vulkan1.3, the others
(1.5, compiled for vulkan1.2) with vulkan1.2. It also checks that only those
kernels are 1.6: the host creates them on Vulkan 1.3 devices only, every other
kernel must load on a Vulkan 1.2 device.

For the NV and KHR cooperative-matrix kernels, which cannot run on lavapipe,
it also checks that every SPIR-V capability they declare is one the device
setup enables for them.

Usage: validate-spirv.py [--spirv-val PATH] [--self-test] SHADER_DIR
Prints TAP; exit status 1 when any module fails, 77 when no spirv-val is found.
spirv-val: PATH, else $SPIRV_VAL, else the one on $PATH. A spirv-val older than
the glslang that compiled the modules may not know their extensions: validate
with the SPIRV-Tools that came with that glslang.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

SPIRV_MAGIC = 0x07230203
WORD = re.compile(r"0x([0-9a-fA-F]{1,8})")
# Kernels the host runs only on Vulkan 1.3 devices, compiled as SPIR-V 1.6 (the
# emulated NV2 kernel, plain GLSL, runs anywhere).
VULKAN_1_3_ONLY = re.compile(r"(coopmat_khr|coopmat2(?!_emu))")

# The cooperative-matrix kernels on NV and KHR fragments never run on lavapipe
# (where the validation layer would name a capability the device was not created
# with), so their capabilities are checked here against what
# engine/backend/vulkan/vulkan_device.c enables for them: every SPIR-V capability
# they may declare, with the feature or version that provides it.
OP_CAPABILITY = 17
CAPABILITIES = {
    1: ("Shader", "core"),
    9: ("Float16", "shaderFloat16"),
    11: ("Int64", "shaderInt64"),
    61: ("GroupNonUniform", "core (Vulkan 1.1 compute subgroups)"),
    4433: ("StorageBuffer16BitAccess", "storageBuffer16BitAccess"),
    5345: ("VulkanMemoryModel", "vulkanMemoryModel"),
    5347: ("PhysicalStorageBufferAddresses", "bufferDeviceAddress"),
    5357: ("CooperativeMatrixNV", "VK_NV_cooperative_matrix"),
    6022: ("CooperativeMatrixKHR", "VK_KHR_cooperative_matrix"),
    5116: ("BFloat16TypeKHR", "shaderBFloat16Type"),
    5118: ("BFloat16CooperativeMatrixKHR", "shaderBFloat16CooperativeMatrix"),
}
COMMON = {1, 9, 11, 61, 4433, 5345, 5347}
# (name pattern, capabilities the device setup enables for that family)
ENABLED_FOR = [
    (re.compile(r"coopmat_khr_bf16in_"), COMMON | {6022, 5116, 5118}),
    (re.compile(r"coopmat_khr"), COMMON | {6022}),
    (re.compile(r"^(matmul|attention)_coopmat(_rope)?$|^matmul_coopmat_(?!emu_|khr_|2)"), COMMON | {5357}),
]


def read_module(path):
    """The words of the array in a glslang --vn header, or None."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.find("{")
    end = text.find("}", start)
    if start < 0 or end < 0:
        return None
    words = [int(w, 16) for w in WORD.findall(text[start:end])]
    if len(words) < 5 or words[0] != SPIRV_MAGIC:
        return None
    return words


def capabilities(words):
    """The operands of every OpCapability in the module."""
    found = []
    i = 5
    while i < len(words):
        count, opcode = words[i] >> 16, words[i] & 0xFFFF
        if count == 0:
            break
        if opcode == OP_CAPABILITY and count == 2 and i + 1 < len(words):
            found.append(words[i + 1])
        i += count
    return found


def unexpected_capabilities(name, words):
    """Capabilities a cooperative-matrix module declares that the device setup
    does not enable for it; None for modules outside those families."""
    for pattern, enabled in ENABLED_FOR:
        if pattern.search(name):
            return [CAPABILITIES.get(c, ("capability %d" % c,))[0] for c in capabilities(words) if c not in enabled]
    return None


def spirv_version(words):
    return (words[1] >> 16) & 0xFF, (words[1] >> 8) & 0xFF


def target_env(version):
    return "vulkan1.3" if version >= (1, 6) else "vulkan1.2"


def check_module(spirv_val, name, words, scratch):
    """(ok, detail) for one module."""
    version = spirv_version(words)
    wants_1_3 = VULKAN_1_3_ONLY.search(name) is not None
    if wants_1_3 != (version >= (1, 6)):
        return False, "SPIR-V %d.%d, but %s" % (
            version + ("the host runs it on Vulkan 1.3 devices only (expected 1.6)" if wants_1_3
                       else "it must load on Vulkan 1.2 devices (expected at most 1.5)",))
    extra = unexpected_capabilities(name, words)
    if extra:
        return False, "declares %s, which the device setup does not enable for it" % ", ".join(extra)
    env = target_env(version)
    spv = os.path.join(scratch, name + ".spv")
    with open(spv, "wb") as f:
        f.write(struct.pack("<%dI" % len(words), *words))
    run = subprocess.run([spirv_val, "--target-env", env, spv], capture_output=True, text=True)
    os.unlink(spv)
    detail = "SPIR-V %d.%d, %s" % (version + (env,))
    if extra is not None:
        detail += ", capabilities as enabled"
    if run.returncode != 0:
        message = (run.stderr + run.stdout).strip().replace("\n", " | ")
        return False, detail + ": " + message[:600]
    return True, detail


def validate(spirv_val, shader_dir):
    headers = sorted(f for f in os.listdir(shader_dir) if f.endswith(".spv.h"))
    print("1..%d" % max(len(headers), 1))
    if not headers:
        print("not ok 1 - no .spv.h headers in %s" % shader_dir)
        return 1
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        for i, header in enumerate(headers, 1):
            name = header[: -len(".spv.h")]
            words = read_module(os.path.join(shader_dir, header))
            if words is None:
                ok, detail = False, "no SPIR-V array in the header"
            else:
                ok, detail = check_module(spirv_val, name, words, scratch)
            print("%s %d - %s (%s)" % ("ok" if ok else "not ok", i, name, detail))
            failed += not ok
    print("# %d of %d modules valid (%s)" % (len(headers) - failed, len(headers), spirv_val))
    return 1 if failed else 0


def self_test(spirv_val):
    """A valid module passes; a truncated one, a broken word and a misplaced
    1.6 module fail. Builds its module with glslangValidator when found."""
    glslang = shutil.which("glslangValidator")
    if glslang is None:
        print("1..0 # SKIP no glslangValidator for the self-test")
        return 77
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "t.comp")
        with open(source, "w", encoding="utf-8") as f:
            f.write("#version 450\nlayout(local_size_x = 1) in;\n"
                    "layout(std430, binding = 0) buffer B { float v[]; };\n"
                    "void main () { v[0] = 1.0; }\n")
        header = os.path.join(scratch, "ok.spv.h")
        subprocess.run([glslang, "-V", "--target-env", "vulkan1.2", "--vn", "td_spv_ok", "-o", header, source],
                       check=True, capture_output=True)
        words = read_module(header)
        results.append(("a glslang header reads back", words is not None))
        results.append(("a valid module passes", check_module(spirv_val, "ok", words, scratch)[0]))
        results.append(("a truncated module fails", not check_module(spirv_val, "cut", words[:-3], scratch)[0]))
        broken = list(words)
        broken[3] = 1  # an id bound below the ids used
        results.append(("a wrong id bound fails", not check_module(spirv_val, "bound", broken, scratch)[0]))
        results.append(("a 1.5 module named as a KHR kernel fails",
                        not check_module(spirv_val, "matmul_coopmat_khr_f16", words, scratch)[0]))
        results.append(("no array: not a module", read_module(source) is None))
        # An NV kernel name on a module declaring Int8, which no device setup enables.
        int8 = list(words[:5]) + [(2 << 16) | OP_CAPABILITY, 39] + list(words[5:])
        results.append(("a capability the device does not enable fails",
                        unexpected_capabilities("matmul_coopmat_f16", int8) == ["capability 39"]
                        and not check_module(spirv_val, "matmul_coopmat_f16", int8, scratch)[0]))
        results.append(("the plain kernels' capabilities are left to the validation layer",
                        unexpected_capabilities("matmul_f16_s16", int8) is None))
    print("1..%d" % len(results))
    for i, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    return 0 if all(ok for _, ok in results) else 1


def main(argv):
    spirv_val = os.environ.get("SPIRV_VAL") or shutil.which("spirv-val")
    args = list(argv)
    run_self_test = "--self-test" in args
    if run_self_test:
        args.remove("--self-test")
    if len(args) >= 2 and args[0] == "--spirv-val":
        spirv_val = args[1]
        args = args[2:]
    if spirv_val is None or not os.access(spirv_val, os.X_OK):
        print("1..0 # SKIP no spirv-val (Debian: spirv-tools)")
        return 77
    if run_self_test:
        return self_test(spirv_val)
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    return validate(spirv_val, args[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
