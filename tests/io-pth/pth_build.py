"""Helpers to write PyTorch-style checkpoints by hand with the Python standard
library only: pickle opcodes as bytes, and zip archives laid out the way
torch.save lays them out (<prefix>/data.pkl, <prefix>/data/<key>, byteorder).
Used by gen_pth_bad.py (the bad-input corpus) and gen_pth_expected.py."""
import struct
import zipfile

# ---- pickle opcodes (see CPython Lib/pickletools.py) ----
PROTO2 = b"\x80\x02"
STOP = b"."
MARK = b"("
EMPTY_DICT = b"}"
EMPTY_TUPLE = b")"
EMPTY_LIST = b"]"
SETITEM = b"s"
SETITEMS = b"u"
APPEND = b"a"
TUPLE = b"t"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
REDUCE = b"R"
BUILD = b"b"
BINPERSID = b"Q"
NEWFALSE = b"\x89"
NEWTRUE = b"\x88"
NONE = b"N"
NEWOBJ = b"\x81"


def s(text):
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def i(value):
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if 0 <= value < 65536:
        return b"M" + struct.pack("<H", value)
    if -(2**31) <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    return b"\x8a\x08" + struct.pack("<q", value)


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def tup(*items):
    return MARK + b"".join(items) + TUPLE


def dict_of(pairs):
    return EMPTY_DICT + MARK + b"".join(k + v for k, v in pairs) + SETITEMS


def tensor(storage_type, key, numel, offset, size, stride):
    """torch._utils._rebuild_tensor_v2 over ('storage', torch.<T>, key, 'cpu', numel)."""
    pid = tup(s("storage"), glob("torch", storage_type), s(key), s("cpu"), i(numel)) + BINPERSID
    return (glob("torch._utils", "_rebuild_tensor_v2")
            + MARK + pid + i(offset) + tup(*map(i, size)) + tup(*map(i, stride)) + NEWFALSE
            + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + TUPLE + REDUCE)


def pickle_of(body):
    return PROTO2 + body + STOP


# ---- zip archives ----
def write_pth(path, pkl, storages=None, prefix="archive", extra=None, align=64, pkl_method=zipfile.ZIP_STORED,
              byteorder="little"):
    """storages: {key: bytes}; extra: [(name, bytes, method)] appended verbatim."""
    entries = [(prefix + "/data.pkl", pkl, pkl_method)]
    if byteorder is not None:
        entries.append((prefix + "/byteorder", byteorder.encode(), zipfile.ZIP_STORED))
    for key, data in (storages or {}).items():
        entries.append((prefix + "/data/" + key, data, zipfile.ZIP_STORED))
    entries += extra or []
    with zipfile.ZipFile(path, "w") as z:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = method
            if align and method == zipfile.ZIP_STORED and "/data/" in name:
                # Pad the local extra field (id 0xFB1B, unassigned) so the data is aligned like torch's.
                here = z.fp.tell() + 30 + len(name.encode())
                pad = (-(here + 4)) % align
                info.extra = struct.pack("<HH", 0xFB1B, pad) + b"Z" * pad
            z.writestr(info, data)
