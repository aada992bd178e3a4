#!/usr/bin/env python3
"""Reads a GGUF file written by `thinkdiff quantize` with nothing but the
format's description (no engine code) and checks it against the safetensors
checkpoint it came from: the header, the metadata ggml-based tools read, every
tensor's shape, type and aligned place, float tensors kept bit for bit (or
widened exactly), and each Q8_0 block (2 bytes of f16 scale + 32 int8) against
the source values.

Usage: gguf-readback.py OUT.gguf SOURCE.safetensors ARCH FILE_TYPE MIN_QUANTIZED
Prints what it checked; exits 1 on the first mismatch.
"""
import json
import math
import struct
import sys

# ggml type id: (name, values per block, bytes per block)
GGML_TYPES = {
    0: ('F32', 1, 4), 1: ('F16', 1, 2), 2: ('Q4_0', 32, 18), 3: ('Q4_1', 32, 20), 6: ('Q5_0', 32, 22),
    7: ('Q5_1', 32, 24), 8: ('Q8_0', 32, 34), 10: ('Q2_K', 256, 84), 11: ('Q3_K', 256, 110),
    12: ('Q4_K', 256, 144), 13: ('Q5_K', 256, 176), 14: ('Q6_K', 256, 210), 30: ('BF16', 1, 2),
}
SCALAR = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}


def fail(message):
    print('FAIL: ' + message)
    sys.exit(1)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            fail('truncated at byte %d' % self.pos)
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += size
        return value

    def string(self):
        length = self.take('<Q')
        if self.pos + length > len(self.data):
            fail('string past the end at byte %d' % self.pos)
        text = self.data[self.pos:self.pos + length].decode('utf-8')
        self.pos += length
        return text

    def value(self, kind):
        if kind == 8:
            return self.string()
        if kind == 9:
            element, count = self.take('<I'), self.take('<Q')
            return [self.value(element) for _ in range(count)]
        if kind not in SCALAR:
            fail('metadata type %d' % kind)
        return self.take(SCALAR[kind])


def read_gguf(path):
    with open(path, 'rb') as f:
        data = f.read()
    r = Reader(data)
    if r.take('<4s') != b'GGUF':
        fail('no GGUF magic')
    version = r.take('<I')
    if version != 3:
        fail('version %d, not 3' % version)
    n_tensors, n_kv = r.take('<Q'), r.take('<Q')
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        kind = r.take('<I')
        meta[key] = (kind, r.value(kind))
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.take('<I')
        ne = [r.take('<Q') for _ in range(n_dims)]
        tensors.append((name, ne, r.take('<I'), r.take('<Q')))
    alignment = meta.get('general.alignment', (4, 32))[1]
    data_start = (r.pos + alignment - 1) // alignment * alignment
    return data, meta, tensors, data_start, alignment


def read_safetensors(path):
    with open(path, 'rb') as f:
        blob = f.read()
    size = struct.unpack_from('<Q', blob)[0]
    header = json.loads(blob[8:8 + size])
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        tensors[name] = (info['dtype'], info['shape'], blob[8 + size + begin:8 + size + end])
    return tensors


def floats(dtype, raw):
    if dtype == 'F32':
        return list(struct.unpack('<%df' % (len(raw) // 4), raw))
    if dtype == 'F16':
        return list(struct.unpack('<%de' % (len(raw) // 2), raw))
    if dtype == 'BF16':
        halves = struct.unpack('<%dH' % (len(raw) // 2), raw)
        return [struct.unpack('<f', struct.pack('<I', h << 16))[0] for h in halves]
    fail('source dtype %s' % dtype)


def check_q8_0(name, block_bytes, values):
    """Each block: d = max|x| / 127 rounded to f16, q = round(x / d)."""
    for b in range(len(values) // 32):
        block = block_bytes[34 * b:34 * b + 34]
        d = struct.unpack_from('<e', block)[0]
        q = struct.unpack_from('<32b', block, 2)
        x = values[32 * b:32 * b + 32]
        amax = max(abs(v) for v in x)
        if abs(d - amax / 127) > amax / 127 * 2 ** -10:
            fail('%s block %d: scale %r, max|x|/127 is %r' % (name, b, d, amax / 127))
        for j in range(32):
            if abs(q[j] * d - x[j]) > 0.57 * d + 1e-12:
                fail('%s block %d value %d: %d·%r for %r' % (name, b, j, q[j], d, x[j]))
    return len(values) // 32


def main():
    gguf_path, source_path, arch, file_type, min_quantized = sys.argv[1:6]
    data, meta, tensors, data_start, alignment = read_gguf(gguf_path)
    source = read_safetensors(source_path)
    expect = {'general.architecture': (8, arch), 'general.file_type': (4, int(file_type)),
              'general.quantization_version': (4, 2), 'general.alignment': (4, 32)}
    for key, wanted in expect.items():
        if meta.get(key) != wanted:
            fail('%s is %r, not %r' % (key, meta.get(key), wanted))
    if meta.get('general.name', (0, ''))[0] != 8 or not meta['general.name'][1]:
        fail('general.name is not a non-empty string')
    print('# metadata: %s' % ', '.join('%s=%r' % (k, v[1]) for k, v in sorted(meta.items())))
    names = [t[0] for t in tensors]
    # fp8 scales are applied to their weights, not written
    scales = {n for n in source if n.endswith('.scale_weight')
              and source[n[:-len('scale_weight')] + 'weight'][0].startswith('F8')}
    if sorted(names) != sorted(set(source) - scales):
        fail('tensor names differ from the source: %r' % sorted(set(names) ^ (set(source) - scales)))
    quantized, blocks, end_prev = 0, 0, 0
    for name, ne, kind, offset in sorted(tensors, key=lambda t: t[3]):
        dtype, shape, raw = source[name]
        if kind not in GGML_TYPES:
            fail('%s: type %d' % (name, kind))
        type_name, block, block_bytes = GGML_TYPES[kind]
        numel = math.prod(shape)
        wanted_ne = list(reversed(shape)) if len(shape) <= 4 else [numel // shape[0], shape[0]]
        if ne != wanted_ne:
            fail('%s: ne %r for shape %r' % (name, ne, shape))
        if offset % alignment or offset < end_prev:
            fail('%s: offset %d unaligned or overlapping' % (name, offset))
        nbytes = numel // block * block_bytes
        end_prev = offset + nbytes
        if data_start + end_prev > len(data) or ne[0] % block:
            fail('%s: %d bytes at %d do not fit the file or the block size' % (name, nbytes, offset))
        stored = data[data_start + offset:data_start + end_prev]
        if len(shape) == 1 and type_name != 'F32':
            fail('%s: a 1-D tensor stored as %s, not F32' % (name, type_name))
        if block > 1:
            quantized += 1
            module = name.split('.')[-2] if '.' in name else name
            if len(shape) != 2 or name.endswith('.bias') or 'norm' in module or 'embed_tokens' in name:
                fail('%s: shape %r quantised as %s' % (name, shape, type_name))
            if type_name == 'Q8_0':
                blocks += check_q8_0(name, stored, floats(dtype, raw))
        elif type_name == dtype:
            if stored != raw:
                fail('%s: kept %s bytes differ from the source' % (name, dtype))
        elif floats(type_name, stored) != floats(dtype, raw):
            fail('%s: %s widened to %s changed values' % (name, dtype, type_name))
    if quantized < int(min_quantized):
        fail('%d tensors quantised, fewer than %s' % (quantized, min_quantized))
    print('ok: %d tensors, %d quantised, %d Q8_0 blocks checked against the source' % (len(tensors), quantized, blocks))


if __name__ == '__main__':
    main()
