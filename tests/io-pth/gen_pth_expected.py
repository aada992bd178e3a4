#!/usr/bin/env python3
"""Reads the golden .pth checkpoints independently of the engine (Python's own
pickle with a find_class that only maps a few torch names to plain functions,
and zipfile) and writes tests/data/pth/expected.json: per file, where the state
dict is, and per tensor its dtype, shape and a few values (first, middle, last
in row-major order, and the float64 sum). Standard library only:
    python3 tests/io-pth/gen_pth_expected.py"""
import json
import os
import pickle
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = [
    "golden/qwen2_vl/thinkdiff_lvlm_aligner.pth",
    "golden/blip2_vision/thinkdiff_clip_aligner.pth",
    "golden/taef2/taef2_encoder.pth",
    "golden/taef2/taef2_decoder.pth",
    "pth/synthetic.pth",
]
STORAGES = {"FloatStorage": ("f32", 4, "f"), "HalfStorage": ("f16", 2, "e"), "BFloat16Storage": ("bf16", 2, "H"),
            "LongStorage": ("i64", 8, "q"), "IntStorage": ("i32", 4, "i")}


class Storage:
    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def rebuild_tensor_v2(storage, offset, size, stride, *rest):
    return Tensor(storage, offset, tuple(size), tuple(stride))


class StateDict(dict):
    def __setstate__(self, state):  # torch's _metadata attribute
        pass


class Opaque:
    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class Reader(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return rebuild_tensor_v2
        if (module, name) == ("collections", "OrderedDict"):
            return StateDict
        if module == "torch" and name in STORAGES:
            return name
        return Opaque

    def persistent_load(self, pid):
        assert pid[0] == "storage"
        return Storage(pid[1], pid[2], pid[4])


def values_of(z, prefix, t):
    dtype, size, code = STORAGES[t.storage.kind]
    raw = z.read(f"{prefix}/data/{t.storage.key}")
    elems = struct.unpack(f"<{len(raw) // size}{code}", raw)
    if dtype == "bf16":
        elems = [struct.unpack("<f", struct.pack("<I", e << 16))[0] for e in elems]
    out, index = [], [0] * len(t.size)
    numel = 1
    for d in t.size:
        numel *= d
    for _ in range(numel):
        out.append(float(elems[t.offset + sum(a * b for a, b in zip(index, t.stride))]))
        for k in reversed(range(len(index))):
            index[k] += 1
            if index[k] < t.size[k]:
                break
            index[k] = 0
    return dtype, out


def main():
    result = {}
    for rel in FILES:
        path = os.path.join(ROOT, "tests", "data", rel)
        with zipfile.ZipFile(path) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            prefix = pkl[: -len("/data.pkl")]
            root = Reader(z.open(pkl)).load()
            key = next((k for k in ("model", "state_dict") if isinstance(root.get(k), dict)), "")
            sd = root[key] if key else root
            tensors = []
            for name, t in sd.items():
                if not isinstance(t, Tensor):
                    continue
                dtype, vals = values_of(z, prefix, t)
                tensors.append({"name": name, "dtype": dtype, "shape": list(t.size),
                                "first": vals[0], "middle": vals[len(vals) // 2], "last": vals[-1],
                                "sum": sum(vals)})
        result[rel] = {"dict_key": key, "tensors": tensors}
    out = os.path.join(ROOT, "tests", "data", "pth", "expected.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
