#!/usr/bin/env python3
"""Writes the bad-image corpus for tests/io-image (standard library only).

Each file pairs with a line in expected.txt: NAME STATUS PHRASE — the status the
loader must return and a phrase its message must contain."""
import struct
import zlib

def chunk(kind, data, crc=None):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", crc if crc is not None else zlib.crc32(body))

def png(width, height, extra=b"", idat=None, ihdr_crc=None):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\0" + b"\x80" * (3 * width) for _ in range(min(height, 4)))
    data = idat if idat is not None else zlib.compress(raw)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr, ihdr_crc) + extra + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))

good = png(4, 4)
cases = {}
cases["truncated.png"] = good[: len(good) // 2]
cases["huge-dimensions.png"] = png(65500, 65500)
cases["bad-crc.png"] = png(4, 4, ihdr_crc=0x12345678)
# A chunk claiming 2 GB of data in a small file.
cases["absurd-chunk.png"] = good[:33] + struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"x" * 16
# zTXt bomb: 4 KB of compressed zeros that inflate to 256 MB, before the image data.
bomb = zlib.compressobj(9)
payload = bomb.compress(b"\0" * (256 << 20)) + bomb.flush()
cases["ztxt-bomb.png"] = png(4, 4, extra=chunk(b"zTXt", b"Comment\0\0" + payload))
# A valid header whose image data is not zlib.
cases["corrupt-idat.png"] = png(4, 4, idat=b"\x78\x9c" + b"\xff" * 40)

def jpeg_segment(marker, payload):
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

def sof(width, height, marker=0xC0):
    return jpeg_segment(marker, struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00")

dqt = jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
dht = jpeg_segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
sos3 = jpeg_segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00") + b"\x00" * 8
cases["huge-dimensions.jpg"] = b"\xff\xd8" + dqt + sof(65500, 65500) + dht + sos3 + b"\xff\xd9"
cases["truncated.jpg"] = b"\xff\xd8" + dqt + sof(16, 16)[:8]
# A progressive frame followed by 400 scans: each scan header is a valid SOS.
sos = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + b"\x00" * 4
cases["many-scans.jpg"] = b"\xff\xd8" + dqt + sof(16, 16, 0xC2) + dht + sos * 400 + b"\xff\xd9"
cases["not-an-image.png"] = b"GIF89a" + b"\0" * 32
cases["empty.jpg"] = b""

for name, data in cases.items():
    with open(name, "wb") as f:
        f.write(data)
