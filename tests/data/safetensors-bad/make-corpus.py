#!/usr/bin/env python3
"""Writes the safetensors bad-input corpus (one broken file per rule of the
format) and the fuzzer seeds. Run it from anywhere; it writes next to itself
and into tests/fuzz-corpus/safetensors/. Only the standard library is used so
the files are reproducible byte for byte."""

import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "..", "..", "fuzz-corpus", "safetensors")


def image(header, data=b"", length=None):
    """A file image: header is a dict (serialised compactly) or raw text."""
    text = header if isinstance(header, (str, bytes)) else json.dumps(header, separators=(",", ":"))
    raw = text.encode("utf-8") if isinstance(text, str) else text
    raw += b" " * (-len(raw) % 8)
    n = len(raw) if length is None else length
    return struct.pack("<Q", n) + raw + data


def f32(name, shape, begin, end):
    return {name: {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}}


def merge(*dicts):
    out = {}
    for d in dicts:
        out.update(d)
    return out


GOOD = image(merge({"__metadata__": {"format": "pt"}}, f32("a", [2], 0, 8), f32("b", [1], 8, 12)), bytes(12))

BAD = {
    # the 8-byte header length itself is cut off
    "truncated-length.safetensors": struct.pack("<Q", 16)[:5],
    # a valid file cut in the middle of its header
    "truncated-header.safetensors": GOOD[:30],
    "header-length-beyond-file.safetensors": image(f32("a", [2], 0, 8), bytes(8), length=1000000),
    "header-length-2p63.safetensors": image(f32("a", [2], 0, 8), bytes(8), length=1 << 63),
    "invalid-json.safetensors": image('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]'),
    "json-comment.safetensors": image('{/* c */ "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', bytes(8)),
    "invalid-utf8.safetensors": image(b'{"\xff\xfe": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', bytes(8)),
    "deep-nesting.safetensors": image("[" * 10000 + "]" * 10000),
    "non-object.safetensors": image("[1, 2, 3]"),
    "unknown-dtype.safetensors": image({"a": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
    "shape-overflow.safetensors": image(f32("a", [1 << 32, 1 << 32], 0, 0)),
    "negative-dim.safetensors": image(f32("a", [-1, 2], 0, 8), bytes(8)),
    "huge-integer.safetensors": image('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [18446744073709551621, 8]}}', bytes(8)),
    "offsets-overlap.safetensors": image(merge(f32("a", [2], 0, 8), f32("b", [2], 4, 12)), bytes(12)),
    "out-of-bounds.safetensors": image(merge(f32("a", [25], 0, 100), f32("x.weight", [50], 100, 300)), bytes(200)),
    "gap.safetensors": image(merge(f32("a", [2], 0, 8), f32("b", [2], 12, 20)), bytes(20)),
    "trailing-bytes.safetensors": image(f32("a", [2], 0, 8), bytes(12)),
    "duplicate-names.safetensors": image('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
                                         ' "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', bytes(8)),
    "begin-after-end.safetensors": image(f32("a", [2], 8, 0), bytes(8)),
    "wrong-byte-length.safetensors": image(f32("a", [3], 0, 8), bytes(8)),
    "metadata-not-string.safetensors": image(merge({"__metadata__": {"n": 1}}, f32("a", [2], 0, 8)), bytes(8)),
    "empty-name.safetensors": image(f32("", [2], 0, 8), bytes(8)),
    "unexpected-field.safetensors": image({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": 1}}, bytes(8)),
    "float-shape.safetensors": image(f32("a", [2.0], 0, 8), bytes(8)),
}

# An index whose weight map escapes its folder, and one naming an absolute path.
INDEXES = {
    "escape.safetensors.index.json": {"metadata": {"total_size": 8}, "weight_map": {"a": "../x.safetensors"}},
    "absolute.safetensors.index.json": {"metadata": {}, "weight_map": {"a": "/etc/passwd"}},
}

SEED_FILES = {
    "good.safetensors": GOOD,
    "zero-dim.safetensors": image(merge(f32("s", [], 0, 4), f32("e", [0, 3], 4, 4)), bytes(4)),
    "mixed.safetensors": image(merge(
        {"h": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}},
        {"i": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]}},
        {"u": {"dtype": "U8", "shape": [3], "data_offsets": [16, 19]}}), bytes(19)),
    "gap.safetensors": BAD["gap.safetensors"],
    "duplicate-names.safetensors": BAD["duplicate-names.safetensors"],
    "out-of-bounds.safetensors": BAD["out-of-bounds.safetensors"],
}


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    for name, data in BAD.items():
        write(HERE, name, data)
    for name, index in INDEXES.items():
        write(HERE, name, json.dumps(index, indent=2).encode() + b"\n")
    os.makedirs(SEEDS, exist_ok=True)
    for name, data in SEED_FILES.items():
        write(SEEDS, name, data)


if __name__ == "__main__":
    main()
