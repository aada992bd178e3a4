#!/usr/bin/env python3
"""Writes tests/data/cli/: checkpoints whose tensor names a safetensors file
cannot hold or a terminal must not see raw, for test-cli-hostile. Standard
library only; run from anywhere:  python3 tests/cli/gen_cli_inputs.py"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "io-pth"))
from pth_build import dict_of, pickle_of, s, tensor, write_pth  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "data", "cli")
F32_6 = struct.pack("<6f", 0, 1, 2, 3, 4, 5)
W = tensor("FloatStorage", "0", 6, 0, (2, 3), (3, 1))


def state_dict(name):
    return pickle_of(dict_of([(s("model"), dict_of([(s("w"), W), (s(name), W)]))]))


os.makedirs(OUT, exist_ok=True)
write_pth(os.path.join(OUT, "metadata-name.pth"), state_dict("__metadata__"), {"0": F32_6})
write_pth(os.path.join(OUT, "escape-name.pth"), state_dict("\x1b[2Jcleared\x07"), {"0": F32_6})
