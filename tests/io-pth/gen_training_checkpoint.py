#!/usr/bin/env python3
"""Writes tests/data/pth/thinkdiff_clip_training.pth: the golden ThinkDiff-CLIP
aligner weights repackaged the way the published aligners are saved, as a
training checkpoint {"model": {mm_projector.*}, "optimizer": {...},
"config": <an OmegaConf object>, "scaler": {...}, "epoch": N}.
Standard library only:
    python3 tests/io-pth/gen_training_checkpoint.py"""
import os
import struct
import zipfile

from gen_pth_expected import Reader, Tensor
from pth_build import (EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, MARK, NEWOBJ, BUILD, APPEND, dict_of, glob, i,
                       pickle_of, s, tensor, write_pth)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "tests", "data", "golden", "blip2_vision", "thinkdiff_clip_aligner.pth")
OUT = os.path.join(ROOT, "tests", "data", "pth", "thinkdiff_clip_training.pth")


def f(value):
    return b"G" + struct.pack(">d", value)


def list_of(items):
    return EMPTY_LIST + b"".join(item + APPEND for item in items)


def main():
    storages, model = {}, []
    with zipfile.ZipFile(SOURCE) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        prefix = pkl[: -len("/data.pkl")]
        root = Reader(z.open(pkl)).load()
        sd = root.get("model", root) if isinstance(root, dict) else root
        for name, t in sd.items():
            if not isinstance(t, Tensor):
                continue
            key = str(len(storages))
            storages[key] = z.read(f"{prefix}/data/{t.storage.key}")
            model.append((s(name), tensor(t.storage.kind, key, t.storage.numel, t.offset, t.size, t.stride)))
    names = [name for name, _ in model]
    # Adam moments: tensors too, under integer keys, which are not weights.
    moment_key = str(len(storages))
    storages[moment_key] = struct.pack("<4f", 0.5, -0.5, 0.25, 0.0)
    optimizer = dict_of([
        (s("state"), dict_of([(i(0), dict_of([(s("step"), i(1200)),
                                               (s("exp_avg"), tensor("FloatStorage", moment_key, 4, 0, (4,), (1,)))]))])),
        (s("param_groups"), list_of([dict_of([(s("lr"), f(1e-4)), (s("params"), list_of([i(k) for k in range(len(names))]))])])),
    ])
    config = (glob("omegaconf.dictconfig", "DictConfig") + EMPTY_TUPLE + NEWOBJ
              + dict_of([(s("_content"), dict_of([(s("lr"), f(1e-4)), (s("name"), s("thinkdiff_clip"))]))]) + BUILD)
    body = dict_of([
        (s("model"), dict_of(model)),
        (s("optimizer"), optimizer),
        (s("config"), config),
        (s("scaler"), dict_of([(s("scale"), f(65536.0)), (s("_growth_tracker"), i(0))])),
        (s("epoch"), i(7)),
    ])
    write_pth(OUT, pickle_of(body), storages, prefix="thinkdiff_clip")


if __name__ == "__main__":
    main()
