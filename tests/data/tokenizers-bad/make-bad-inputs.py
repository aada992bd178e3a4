#!/usr/bin/env python3
"""Writes the bad-input corpus for the tokenizer loaders (and small valid seeds).

Each bad file gets a line in expected.txt: "<path>\t<substring the error message must hold>".
Valid files (valid-*) must load. Run from this folder: ./make-bad-inputs.py
Also copies the valid files into ../../fuzz-corpus/<target without fuzz->/ as fuzz seeds.
"""
import base64, json, os, shutil, struct

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "..", "..", "fuzz-corpus")
expected = []


def write(rel, data, message=None):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    if message is not None:
        expected.append(f"{rel}\t{message}")


# ---- tokenizer.json ----
def bpe_json(vocab=None, merges=None, **model):
    vocab = vocab if vocab is not None else {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "<unk>": 5}
    merges = merges if merges is not None else ["a b", "ab c"]
    m = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
         "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges}
    m.update(model)
    return {"version": "1.0", "added_tokens": [
        {"id": 5, "content": "<unk>", "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{L}+|\\s+"}, "behavior": "Isolated", "invert": False}]},
        "post_processor": None, "decoder": None, "model": m}


def unigram_json(vocab=None, **model):
    vocab = vocab if vocab is not None else [["<unk>", 0.0], ["\u2581", -2.0], ["a", -3.0], ["\u2581ab", -1.5], ["b", -3.5]]
    m = {"type": "Unigram", "unk_id": 0, "vocab": vocab, "byte_fallback": False}
    m.update(model)
    return {"version": "1.0", "added_tokens": [],
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": False, "strip_right": True}]},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
            "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [], "special_tokens": {}},
            "model": m}


def js(obj):
    return json.dumps(obj, ensure_ascii=False)


valid_bpe = js(bpe_json())
valid_unigram = js(unigram_json())
write("valid-bpe.json", valid_bpe)
write("valid-unigram.json", valid_unigram)
write("json-truncated.json", valid_bpe[:150], "not valid JSON")
write("json-top-level-array.json", "[1, 2, 3]", "top level should be a JSON object")
write("json-no-model.json", js({"version": "1.0"}), "model is missing")
write("json-vocab-wrong-type.json", js(bpe_json(vocab=[["a", 0]])), "model.vocab should be an object")
write("json-vocab-id-string.json", js(bpe_json(vocab={"a": "zero"})), "should be an integer id")
write("json-merge-unknown.json", js(bpe_json(merges=["a b", "xy c"])), "names unknown token 'xy'")
write("json-merge-not-in-vocab.json", js(bpe_json(merges=["b c"])), "is not in the vocabulary")
write("json-merge-malformed.json", js(bpe_json(merges=["a b c"])), "two tokens separated by one space")
write("json-id-negative.json", js(bpe_json(vocab={"a": -5, "<unk>": 5})), "out of range")
write("json-id-huge.json", js(bpe_json(vocab={"a": 4000000000, "<unk>": 5})), "out of range")
write("json-id-duplicate.json", js(bpe_json(vocab={"a": 0, "b": 0, "<unk>": 5})), "is given to two tokens")
write("json-huge-piece.json", js(unigram_json(vocab=[["<unk>", 0.0], ["x" * 100000, -1.0]])), "bytes long")
write("json-unigram-bad-pair.json", js(unigram_json(vocab=[["<unk>", 0.0], ["a"]])), "model.vocab[1] should be a [\"piece\", score] pair")
write("json-unigram-duplicate.json", js(unigram_json(vocab=[["<unk>", 0.0], ["a", -1.0], ["a", -2.0]])), "appears twice")
write("json-unigram-unk-range.json", js(unigram_json(unk_id=99)), "unk_id 99 is out of range")
write("json-model-wordpiece.json", js(dict(bpe_json(), model={"type": "WordPiece", "vocab": {}})), "model type 'WordPiece' is not supported")
bad_regex = bpe_json()
bad_regex["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {"Regex": "(unclosed"}
write("json-bad-regex.json", js(bad_regex), "does not compile")
bad_b64 = unigram_json()
bad_b64["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": "!!!not base64!!!"}
write("json-charsmap-not-base64.json", js(bad_b64), "not base64")
bad_trie = unigram_json()
bad_trie["normalizer"] = {"type": "Precompiled",
                          "precompiled_charsmap": base64.b64encode(struct.pack("<I", 4096) + b"\0" * 16).decode()}
write("json-charsmap-trie-size.json", js(bad_trie), "trie size 4096")
clash = bpe_json()
clash["added_tokens"][0]["id"] = 2
write("json-added-id-clash.json", js(clash), "has id 2 but the vocabulary gives it 5")
wrong_bool = bpe_json()
wrong_bool["added_tokens"][0]["special"] = "yes"
write("json-added-wrong-type.json", js(wrong_bool), "added_tokens[0].special should be true or false")
write("json-unknown-unk.json", js(bpe_json(unk_token="<nope>")), "unk_token '<nope>' is not in the vocabulary")


# ---- spiece.model (protobuf) ----
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(num, wire, payload):
    tag = varint(num << 3 | wire)
    if wire == 2:
        return tag + varint(len(payload)) + payload
    return tag + payload


def piece(text, score, ptype=1):
    return field(1, 2, field(1, 2, text.encode()) + field(2, 5, struct.pack("<f", score)) + field(3, 0, varint(ptype)))


def model(pieces, trainer=field(3, 0, varint(1)), normalizer=field(3, 0, varint(1))):
    return b"".join(pieces) + field(2, 2, trainer) + field(3, 2, normalizer)


good_pieces = [piece("<pad>", 0.0, 3), piece("</s>", 0.0, 3), piece("<unk>", 0.0, 2),
               piece("\u2581", -2.0), piece("a", -3.0), piece("\u2581ab", -1.5), piece("b", -3.5)]
write("valid-spiece.model", model(good_pieces))
write("spm-truncated-varint.model", b"\x0a\xff", "varint runs past the end")
write("spm-length-past-end.model", b"\x0a\x7fabc", "length runs past the end")
write("spm-long-varint.model", b"\x08" + b"\xff" * 10 + b"\x01", "varint")
write("spm-group-wire-type.model", bytes([1 << 3 | 3]) + b"\x00", "wire type")
write("spm-field-zero.model", b"\x00\x00", "invalid field number")
write("spm-no-pieces.model", field(3, 2, field(3, 0, varint(1))), "no pieces")
write("spm-no-unknown.model", model([piece("a", -1.0), piece("b", -2.0)]), "no piece has the unknown type")
write("spm-two-unknown.model", model([piece("<unk>", 0.0, 2), piece("<unk2>", 0.0, 2)]), "two pieces have the unknown type")
write("spm-huge-piece.model", model([piece("<unk>", 0.0, 2), piece("x" * 100000, -1.0)]), "bytes long")
write("spm-duplicate-piece.model", model([piece("<unk>", 0.0, 2), piece("a", -1.0), piece("a", -2.0)]), "appears twice")
write("spm-bpe-type.model", model(good_pieces, trainer=field(3, 0, varint(2))), "model type 2 is not supported")
write("spm-piece-wrong-wire.model", field(1, 0, varint(5)), "wrong wire type")
write("spm-score-truncated.model", field(1, 2, field(1, 2, b"a") + b"\x15\x00\x00"), "past the end")
write("spm-bad-piece-type.model", model([piece("<unk>", 0.0, 2), piece("a", -1.0, 9)]), "unknown piece type")
write("spm-piece-not-utf8.model", model([piece("<unk>", 0.0, 2), field(1, 2, field(1, 2, b"\xff\xfe"))]), "not valid UTF-8")
write("spm-bad-charsmap.model", model(good_pieces, normalizer=field(2, 2, struct.pack("<I", 1 << 20) + b"\0" * 8)), "trie size")


# ---- vocab.json + merges.txt ----
gpt_vocab = {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "<|endoftext|>": 5}
write("valid-bpe-files/vocab.json", js(gpt_vocab))
write("valid-bpe-files/merges.txt", "#version: 0.2\na b\nab c\n")
write("bpe-merge-unknown/vocab.json", js(gpt_vocab))
write("bpe-merge-unknown/merges.txt", "#version: 0.2\na b\nxy c\n", "merges.txt line 3 names unknown token 'xy'")
write("bpe-merge-three-parts/vocab.json", js(gpt_vocab))
write("bpe-merge-three-parts/merges.txt", "a b\na b c\n", "merges.txt line 2 should be two tokens separated by one space")
write("bpe-vocab-not-int/vocab.json", js({"a": 1.5}), "the id of 'a' is not an integer")
write("bpe-vocab-not-int/merges.txt", "")
write("bpe-vocab-duplicate-id/vocab.json", js({"a": 0, "b": 0}), "is given to two tokens")
write("bpe-vocab-duplicate-id/merges.txt", "")
write("bpe-vocab-truncated/vocab.json", js(gpt_vocab)[:20], "not valid JSON")
write("bpe-vocab-truncated/merges.txt", "")
write("bpe-missing-merges/vocab.json", js(gpt_vocab), "merges.txt")
write("bpe-merges-not-utf8/vocab.json", js(gpt_vocab))
write("bpe-merges-not-utf8/merges.txt", b"a b\n\xff\xfe c\n", "not valid UTF-8")
expected.append("does-not-exist.json\tno such file")
expected.append("empty-folder\tholds no tokenizer.json")
os.makedirs(os.path.join(HERE, "empty-folder"), exist_ok=True)
write("empty-folder/.keep", "")

# The three folders above that need a file rewritten to the vocab.json path.
lines = []
for e in expected:
    rel, msg = e.split("\t")
    if rel.endswith("/merges.txt"):
        rel = rel[: -len("merges.txt")] + "vocab.json"
    if rel.startswith("bpe-") and not rel.endswith(".json"):
        rel = rel + "/vocab.json"
    lines.append(f"{rel}\t{msg}")
with open(os.path.join(HERE, "expected.txt"), "w") as f:
    f.write("# path (relative to this folder)\tsubstring of the error message\n")
    f.write("\n".join(lines) + "\n")

# Fuzz seeds: the valid files (and a few bad ones, which reach deeper parser states).
seeds = {
    "tokenizer-json": ["valid-bpe.json", "valid-unigram.json", "json-merge-unknown.json", "json-charsmap-trie-size.json"],
    "spiece-model": ["valid-spiece.model", "spm-long-varint.model", "spm-no-unknown.model"],
}
for target, files in seeds.items():
    d = os.path.join(FUZZ, target)
    os.makedirs(d, exist_ok=True)
    for name in files:
        shutil.copy(os.path.join(HERE, name), os.path.join(d, name))
d = os.path.join(FUZZ, "bpe-files")
os.makedirs(d, exist_ok=True)
# fuzz-bpe-files input: vocab.json, a NUL byte, merges.txt
with open(os.path.join(d, "valid"), "wb") as f:
    f.write(js(gpt_vocab).encode() + b"\0" + b"#version: 0.2\na b\nab c\n")
with open(os.path.join(d, "clip-like"), "wb") as f:
    f.write(js({"a</w>": 0, "b</w>": 1, "a": 2, "b": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6}).encode()
            + b"\0" + b"a b</w>\n")
