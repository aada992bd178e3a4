#!/usr/bin/env python3
"""Writes tests/data/pth-bad/ (hostile and malformed PyTorch checkpoints, with a
MANIFEST of what the reader must do with each), tests/data/pth/synthetic.pth
(a small valid checkpoint with hand-checked values) and the fuzz seeds in
tests/fuzz-corpus/pth/. Standard library only; run from anywhere:
    python3 tests/io-pth/gen_pth_bad.py
MANIFEST lines: <file> <status name | inert> <substring of the message>."""
import os
import shutil
import struct
import sys
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pth_build import *  # noqa: E402,F401,F403

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BAD = os.path.join(ROOT, "tests", "data", "pth-bad")
GOOD = os.path.join(ROOT, "tests", "data", "pth")
SEEDS = os.path.join(ROOT, "tests", "fuzz-corpus", "pth")
# The payloads below would create these files if anything ran them.
MARKER = "/tmp/thinkdiff-pth-payload-ran"

F32_6 = struct.pack("<6f", 0, 1, 2, 3, 4, 5)
W = tensor("FloatStorage", "0", 6, 0, (2, 3), (3, 1))
manifest = []


def zinfo(name):
    return zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))


STATUS = {"format": "bad-format", "unsupported": "unsupported", "limit": "over-limit", "inert": "inert"}


def bad(name, expect, message, pkl, storages=None, **kw):
    write_pth(os.path.join(BAD, name), pkl, storages if storages is not None else {"0": F32_6}, **kw)
    manifest.append(f"{name} {STATUS[expect]} {message}")


def raw(name, expect, message, data):
    with open(os.path.join(BAD, name), "wb") as f:
        f.write(data)
    manifest.append(f"{name} {STATUS[expect]} {message}")


def model(*pairs):
    return pickle_of(dict_of([(s("model"), dict_of(list(pairs)))]))


def synthetic():
    """state_dict: w f32 [2,3] = 0..5; wt its transpose (a strided view of the same
    storage); h f16 [2] = elements 1..2 of [0.5, 1.5, -2, 4]; n i64 scalar 7;
    plus harmless extras (epoch, an argparse Namespace built by NEWOBJ+BUILD)."""
    ns = (glob("argparse", "Namespace") + EMPTY_TUPLE + NEWOBJ
          + dict_of([(s("lr"), b"G" + struct.pack(">d", 0.5))]) + BUILD)
    body = dict_of([
        (s("state_dict"), dict_of([
            (s("w"), W),
            (s("wt"), tensor("FloatStorage", "0", 6, 0, (3, 2), (1, 3))),
            (s("h"), tensor("HalfStorage", "1", 4, 1, (2,), (1,))),
            (s("n"), tensor("LongStorage", "2", 1, 0, (), ())),
        ])),
        (s("epoch"), i(3)),
        (s("args"), ns),
    ])
    storages = {"0": F32_6, "1": struct.pack("<4e", 0.5, 1.5, -2.0, 4.0), "2": struct.pack("<q", 7)}
    write_pth(os.path.join(GOOD, "synthetic.pth"), pickle_of(body), storages, prefix="synthetic")


def code_execution():
    system = glob("os", "system") + tup(s(f"touch {MARKER}")) + REDUCE
    bad("inert-os-system.pth", "inert", "-", pickle_of(dict_of([(s("model"), dict_of([(s("w"), W)])), (s("x"), system)])))
    bad("os-system-root.pth", "format", "not a state dict", pickle_of(system))
    evil = glob("builtins", "eval") + tup(s(f"open('{MARKER}', 'w')")) + REDUCE
    bad("eval-as-tensor.pth", "format", "no tensors", model((s("w"), evil)))
    # The payload as the "callable" of a tensor's backward hooks, and as a NEWOBJ class with BUILD state.
    hooks = (glob("torch._utils", "_rebuild_tensor_v2") + MARK
             + tup(s("storage"), glob("torch", "FloatStorage"), s("0"), s("cpu"), i(6)) + BINPERSID
             + i(0) + tup(i(6)) + tup(i(1)) + NEWFALSE + system + TUPLE + REDUCE)
    bad("inert-hooks.pth", "inert", "-", model((s("w"), hooks)))
    newobj = glob("os", "system") + tup(s(f"touch {MARKER}")) + NEWOBJ + dict_of([(s("a"), i(1))]) + BUILD
    bad("inert-newobj.pth", "inert", "-", pickle_of(dict_of([(s("model"), dict_of([(s("w"), W)])), (s("o"), newobj)])))
    stack_global = s("subprocess") + s("call") + b"\x93" + tup(s("touch"), s(MARKER)) + REDUCE
    bad("inert-stack-global.pth", "inert", "-", pickle_of(dict_of([(s("model"), dict_of([(s("w"), W), (s("z"), stack_global)]))])))


def tensor_bounds():
    bad("storage-outside-entry.pth", "format", "entry holds", model((s("w"), tensor("FloatStorage", "0", 100, 0, (10, 10), (10, 1)))))
    bad("view-past-storage.pth", "format", "reaches past", model((s("w"), tensor("FloatStorage", "0", 6, 2, (2, 3), (3, 1)))))
    bad("offset-past-storage.pth", "format", "storage offset", model((s("w"), tensor("FloatStorage", "0", 6, 7, (0,), (1,)))))
    bad("negative-size.pth", "format", "non-negative", model((s("w"), tensor("FloatStorage", "0", 6, 0, (-1, 3), (3, 1)))))
    bad("negative-stride.pth", "format", "non-negative", model((s("w"), tensor("FloatStorage", "0", 6, 5, (2, 3), (-3, 1)))))
    bad("negative-offset.pth", "format", "storage offset", model((s("w"), tensor("FloatStorage", "0", 6, -1, (2,), (1,)))))
    bad("negative-numel.pth", "format", "declares", model((s("w"), tensor("FloatStorage", "0", -6, 0, (2,), (1,)))))
    bad("huge-numel.pth", "format", "declares", model((s("w"), tensor("FloatStorage", "0", 2**62, 0, (2,), (1,)))))
    bad("overflow-extent.pth", "format", "overflow",
        model((s("w"), tensor("FloatStorage", "0", 6, 0, (2**47, 2**47, 2**47), (2**47, 2**47, 1)))))
    bad("huge-size.pth", "format", "below 2^48", model((s("w"), tensor("FloatStorage", "0", 6, 0, (2**60,), (0,)))))
    bad("rank-mismatch.pth", "format", "strides", model((s("w"), tensor("FloatStorage", "0", 6, 0, (2, 3), (1,)))))
    bad("too-many-dims.pth", "unsupported", "dimensions", model((s("w"), tensor("FloatStorage", "0", 6, 0, (1,) * 9, (1,) * 9))))
    bad("six-dims.pth", "unsupported", "dimensions", model((s("w"), tensor("FloatStorage", "0", 6, 0, (1,) * 6, (1,) * 6))))
    bad("missing-storage.pth", "format", "no storage entry", model((s("w"), tensor("FloatStorage", "7", 6, 0, (6,), (1,)))))
    bad("complex-storage.pth", "unsupported", "ComplexFloatStorage", model((s("w"), tensor("ComplexFloatStorage", "0", 3, 0, (3,), (1,)))))
    bad("bad-storage-key.pth", "format", "storage", model((s("w"), tensor("FloatStorage", "../0", 6, 0, (6,), (1,)))))
    pid = tup(s("module"), glob("os", "system"), s("0"), s("cpu"), i(6)) + BINPERSID
    odd = glob("torch._utils", "_rebuild_tensor_v2") + MARK + pid + i(0) + tup(i(6)) + tup(i(1)) + NEWFALSE + EMPTY_DICT + TUPLE + REDUCE
    bad("not-a-storage-id.pth", "format", "storage", model((s("w"), odd)))
    bad("compressed-storage.pth", "unsupported", "compressed", model((s("w"), W)), storages={},
        extra=[("archive/data/0", F32_6, zipfile.ZIP_DEFLATED)])
    bad("big-endian.pth", "unsupported", "byte order", model((s("w"), W)), byteorder="big")
    bad("duplicate-tensor.pth", "format", "twice", model((s("w"), W), (s("w"), W)))
    # A stride-0 view of 2^32 elements over 6: made contiguous it would take 16 GiB.
    bad("stride0-expand.pth", "unsupported", "repeat elements",
        model((s("w"), tensor("FloatStorage", "0", 6, 0, (65536, 65536), (0, 0)))))


def pickle_structure():
    bad("deep-marks.pth", "limit", "MARK", PROTO2 + MARK * 5000 + STOP)
    bad("huge-memo-index.pth", "format", "memo", pickle_of(b"j\xff\xff\xff\xff"))
    bad("memo-get-unset.pth", "format", "memo", pickle_of(EMPTY_DICT + b"h\x05"))
    truncated = model((s("w"), W))
    bad("truncated-pickle.pth", "format", "truncated", truncated[: len(truncated) // 2])
    bad("no-stop.pth", "format", "no STOP", truncated[:-1])
    bad("trailing-after-stop.pth", "format", "after STOP", truncated + b"N")
    bad("leftover-stack.pth", "format", "STOP with", PROTO2 + NONE + model((s("w"), W))[2:])
    bad("underflow.pth", "format", "underflow", pickle_of(SETITEM))
    bad("setitem-on-list.pth", "format", "SETITEM on a list", pickle_of(EMPTY_LIST + s("a") + s("b") + SETITEM))
    bad("protocol0-opcode.pth", "unsupported", "opcode", b"I42\n.")
    bad("protocol-9.pth", "unsupported", "protocol", b"\x80\x09N.")
    bad("long-string.pth", "format", "truncated", PROTO2 + b"X\x00\x00\x10\x00" + b"abc" + STOP)
    bad("huge-string8.pth", "limit", "string", PROTO2 + b"\x8d" + struct.pack("<Q", 2**60) + STOP)
    bad("bad-utf8.pth", "format", "UTF-8", PROTO2 + b"X\x02\x00\x00\x00\xff\xfe" + STOP)
    bad("global-no-newline.pth", "format", "GLOBAL name", PROTO2 + b"c" + b"a" * 1000)
    bad("global-bad-name.pth", "format", "dotted", PROTO2 + b"cos system\nx y\n" + STOP)
    bad("reduce-non-tuple.pth", "format", "REDUCE", pickle_of(glob("os", "system") + s("x") + REDUCE))
    bad("frame-too-long.pth", "format", "frame", PROTO2 + b"\x95" + struct.pack("<Q", 1000) + NONE + STOP)
    bad("not-a-dict.pth", "format", "type list, not a state dict", pickle_of(EMPTY_LIST))
    bad("empty-dict.pth", "format", "no tensors", pickle_of(EMPTY_DICT))
    # 32 KiB of EMPTY_LIST: each byte makes a value far larger than a real pickle's per byte.
    bad("objects-per-byte.pth", "limit", "bytes of memory", PROTO2 + EMPTY_LIST * (1 << 15) + STOP)


def zip_structure():
    good = os.path.join(GOOD, "synthetic.pth")
    data = open(good, "rb").read()
    raw("truncated-zip.pth", "format", "not a zip", data[: len(data) // 2])
    raw("empty.pth", "format", "too short", b"")
    raw("legacy-pickle.pth", "format", "not a zip", b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19." + b"\0" * 40)
    # Zip bomb: a deflated data.pkl whose declared size is over the cap (patched in both headers).
    bomb_path = os.path.join(BAD, "zip-bomb-declared.pth")
    write_pth(bomb_path, model((s("w"), W)), {"0": F32_6}, pkl_method=zipfile.ZIP_DEFLATED)
    blob = bytearray(open(bomb_path, "rb").read())
    big = struct.pack("<I", 0xFFFFFFF0)
    blob[22:26] = big  # local header uncompressed size
    cd = blob.rfind(b"PK\x01\x02", 0, blob.rfind(b"PK\x05\x06"))
    cd = blob.find(b"PK\x01\x02")
    blob[cd + 24:cd + 28] = big
    open(bomb_path, "wb").write(blob)
    manifest.append("zip-bomb-declared.pth over-limit more than the limit")
    # A deflated data.pkl that inflates to far more than it declares.
    lying = os.path.join(BAD, "zip-bomb-lying.pth")
    write_pth(lying, PROTO2 + NONE * (1 << 20) + STOP, {}, pkl_method=zipfile.ZIP_DEFLATED)
    blob = bytearray(open(lying, "rb").read())
    small = struct.pack("<I", 1000)
    blob[22:26] = small
    cd = blob.find(b"PK\x01\x02")
    blob[cd + 24:cd + 28] = small
    open(lying, "wb").write(blob)
    manifest.append("zip-bomb-lying.pth bad-format inflate")
    # An honest deflated data.pkl of 8 MiB of EMPTY_LIST in 8 KiB: over the inflation ratio.
    write_pth(os.path.join(BAD, "zip-bomb-ratio.pth"), PROTO2 + EMPTY_LIST * (8 << 20) + STOP, {},
              pkl_method=zipfile.ZIP_DEFLATED)
    manifest.append("zip-bomb-ratio.pth over-limit more than the limit")
    # No data.pkl at all.
    with zipfile.ZipFile(os.path.join(BAD, "missing-data-pkl.pth"), "w") as z:
        z.writestr(zinfo("archive/data/0"), F32_6)
        z.writestr(zinfo("archive/version"), b"3\n")
    manifest.append("missing-data-pkl.pth bad-format no <name>/data.pkl")
    # Two entries with the same name.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_pth(os.path.join(BAD, "duplicate-entry.pth"), model((s("w"), W)), {"0": F32_6},
                  extra=[("archive/data/0", F32_6, zipfile.ZIP_STORED)])
    manifest.append("duplicate-entry.pth bad-format twice")
    with zipfile.ZipFile(os.path.join(BAD, "two-data-pkl.pth"), "w") as z:
        z.writestr(zinfo("a/data.pkl"), model((s("w"), W)))
        z.writestr(zinfo("b/data.pkl"), model((s("w"), W)))
    manifest.append("two-data-pkl.pth bad-format more than one data.pkl")
    bad("path-traversal.pth", "format", "plain relative path", model((s("w"), W)), extra=[("archive/../../evil", b"x", zipfile.ZIP_STORED)])
    bad("absolute-name.pth", "format", "plain relative path", model((s("w"), W)), extra=[("/etc/evil", b"x", zipfile.ZIP_STORED)])
    # Corruptions of the synthetic file's structures.
    eocd = data.rfind(b"PK\x05\x06")
    cdo = data.find(b"PK\x01\x02")
    def patched(name, expect, message, offset, value):
        blob = bytearray(data)
        blob[offset:offset + len(value)] = value
        raw(name, expect, message, bytes(blob))
    patched("cd-offset-out.pth", "format", "central directory", eocd + 16, struct.pack("<I", len(data)))
    patched("cd-count-huge.pth", "format", "cannot fit", eocd + 8, struct.pack("<HH", 0xfff0, 0xfff0))
    patched("local-offset-out.pth", "format", "local header", cdo + 42, struct.pack("<I", 0x7ffffff0))
    patched("local-name-differs.pth", "format", "names another", 30, b"X")
    patched("encrypted.pth", "unsupported", "encrypted", cdo + 8, struct.pack("<H", 1))
    patched("bad-method.pth", "unsupported", "method", cdo + 10, struct.pack("<H", 14))
    blob = bytearray(data)  # the same wrong CRC in both headers: caught when data.pkl is read
    blob[14:18] = blob[cdo + 16:cdo + 20] = struct.pack("<I", 0x12345678)
    raw("bad-crc.pth", "format", "CRC-32", bytes(blob))
    patched("comment-mismatch.pth", "format", "not a zip", eocd + 20, struct.pack("<H", 5))
    patched("stored-size-mismatch.pth", "format", "sizes", cdo + 20, struct.pack("<I", 3))


def main():
    for d in (BAD, GOOD, SEEDS):
        os.makedirs(d, exist_ok=True)
    for f in os.listdir(BAD):
        os.remove(os.path.join(BAD, f))
    synthetic()
    code_execution()
    tensor_bounds()
    pickle_structure()
    zip_structure()
    with open(os.path.join(BAD, "MANIFEST"), "w") as f:
        f.write("# <file> <status | inert> <message substring> — written by tests/io-pth/gen_pth_bad.py\n")
        f.write("\n".join(manifest) + "\n")
    # Fuzz seeds: the valid synthetic file and a few small bad ones.
    shutil.copy(os.path.join(GOOD, "synthetic.pth"), os.path.join(SEEDS, "synthetic.pth"))
    for name in ("inert-os-system.pth", "view-past-storage.pth", "deep-marks.pth", "zip-bomb-declared.pth",
                 "inert-newobj.pth"):
        shutil.copy(os.path.join(BAD, name), os.path.join(SEEDS, name))


if __name__ == "__main__":
    main()
