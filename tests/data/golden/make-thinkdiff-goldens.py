#!/usr/bin/python3
"""Goldens for the assembled ThinkDiff conditioning (thinkdiff_lvlm/, thinkdiff_clip/).

A transcription, in float64 numpy, of what the official ThinkDiff code does from a
prompt board to FLUX's inputs (github MiZhenxing/ThinkDiff and its vLLM fork):

  LVLM (scripts/test/test_mllama_t5_decoder_flux*.py, models/mllama_vllm_t5_embed_decoder_2.py):
    * messages = [system "You are a helpful assistant.", user [content items]], the
      multi-image run putting its instruction first and numbering pictures
      (apply_chat_template(add_vision_id=True)); each <|image_pad|> expanded to the
      image's merged patch count;
    * vLLM SamplingParams(max_tokens=128, min_tokens=128, ignore_eos=True): every EOS id
      of the tokenizer/config and of generation_config.json is -inf while fewer than
      min_tokens tokens exist; decoding here is greedy (temperature 0) so the result is
      reproducible;
    * return_hidden_states: per step, the "model.norm" state of the position the token
      was sampled from (the last prompt position, then generated tokens 1..n-1);
    * prompt_embeds = mm_projector(those states) (Linear, GELU, Linear, T5LayerNorm);
    * pooled = CLIP-L pooler output of the empty prompt (encode_prompt(prompt="")).
  CLIP (scripts/test/test_blip_vision_t5_decoder_flux.py, models/blip_vision_t5_decoder.py):
    * each image: BLIP-2 vision tower last_hidden_state, CLS kept, the 16x16 grid
      F.interpolate(bilinear, align_corners=False) to 8x8, then mm_projector;
    * the prompt through FLUX's T5 padded to flux_max_sequence_length=128, appended after
      all images even when it is empty; pooled = CLIP-L pooler output of that prompt.
    * Several text items (the official scripts have one prompt) are joined with one
      space into that prompt, empty items skipped: the engine's documented choice.

The models are tiny, random and mutually consistent (T5 width = aligner output), with
tiny tokenizers in the published tokenizer.json formats, so every part of the path is
exercised; images are sized so that no resampling happens (the processors' resizes are
then identities), which keeps the transcription free of a bicubic filter.

Run from the repository root:  /usr/bin/python3 tests/data/golden/make-thinkdiff-goldens.py
It rewrites tests/data/golden/thinkdiff_lvlm/ and thinkdiff_clip/ and checks that each
golden would catch the faults it is for (EOS not suppressed, hidden states off by one,
wrong pooled text, wrong CLIP layout).
"""
import json
import math
import os
import shutil
import struct
import sys
import zlib

import numpy as np
import regex

ROOT = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- files


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        array = tensors[name]
        if array.dtype == np.int32:
            dtype, data = "I32", array.astype("<i4").tobytes()
        else:
            dtype, data = "F32", array.astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_png(path, pixels):
    """8-bit RGB or RGBA, no filtering."""
    h, w, c = pixels.shape
    rows = b"".join(b"\x00" + pixels[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6 if c == 4 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
        f.write("\n")


class Weights:
    """Seeded random weights scaled like trained layers (std 1/sqrt(fan-in))."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.tensors = {}

    def add(self, name, shape, kind="w", scale=None):
        if kind == "o":
            value = np.ones(shape)
        elif kind == "n":  # norm weights near one
            value = 1.0 + 0.1 * self.rng.standard_normal(shape)
        else:
            fan_in = np.prod(shape[1:]) if len(shape) > 1 else 1
            value = self.rng.standard_normal(shape) * (scale if scale else 1.0 / math.sqrt(max(fan_in, 1)))
        # Stored as float32: the reference reads back exactly what the engine reads.
        self.tensors[name] = value.astype(np.float32)
        return self.tensors[name].astype(np.float64)

    def linear(self, prefix, out, inp, bias=True):
        self.add(prefix + ".weight", (out, inp))
        if bias:
            self.add(prefix + ".bias", (out,), scale=0.05)

    def norm(self, prefix, n, bias=True):
        self.add(prefix + ".weight", (n,), "n")
        if bias:
            self.add(prefix + ".bias", (n,), scale=0.05)

    def save(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_safetensors(path, self.tensors)

    def get(self, name):
        return self.tensors[name].astype(np.float64)


# ---------------------------------------------------------------- tokenizers


def byte_alphabet():
    """GPT-2's printable stand-ins for the 256 byte values."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


BYTES = byte_alphabet()


def bpe_word(symbols, ranks):
    """Merges the lowest-ranked adjacent pair everywhere, left to right, until none is left."""
    symbols = list(symbols)
    while len(symbols) > 1:
        best = min(((ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))))
        if best[0] == 1 << 30:
            break
        pair = (symbols[best[1]], symbols[best[1] + 1])
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


def learn_merges(words, count):
    """count merges, most frequent pair first (ties: the smallest pair), from word symbol lists."""
    words = [list(w) for w in words]
    merges = []
    for _ in range(count):
        pairs = {}
        for w in words:
            for p in zip(w, w[1:]):
                pairs[p] = pairs.get(p, 0) + 1
        if not pairs:
            break
        pair = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(pair)
        ranks = {pair: 0}
        words = [bpe_word(w, ranks) for w in words]
    return merges


QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
              r"|\s+(?!\S)|\s+")
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]


class QwenTokenizer:
    """Byte-level BPE with Qwen2's split pattern and special tokens (tokenizer.json form)."""

    def __init__(self, corpus, n_merges):
        words = [[BYTES[b] for b in piece.encode()] for text in corpus for piece in regex.findall(QWEN_SPLIT, text)]
        self.merges = learn_merges(words, n_merges)
        self.vocab = {BYTES[b]: b for b in range(256)}
        for a, b in self.merges:
            self.vocab.setdefault(a + b, len(self.vocab))
        self.special = {s: len(self.vocab) + i for i, s in enumerate(QWEN_SPECIALS)}
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.size = len(self.vocab) + len(self.special)

    def encode(self, text):
        ids = []
        pattern = "(" + "|".join(regex.escape(s) for s in QWEN_SPECIALS) + ")"
        for part in regex.split(pattern, text):
            if part in self.special:
                ids.append(self.special[part])
                continue
            for piece in regex.findall(QWEN_SPLIT, part):
                ids += [self.vocab[s] for s in bpe_word([BYTES[b] for b in piece.encode()], self.ranks)]
        return ids

    def json(self):
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for s, i in self.special.items()]
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN_SPLIT}, "behavior": "Isolated", "invert": False},
                byte_level]},
            "post_processor": byte_level, "decoder": byte_level,
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": self.vocab, "merges": [a + " " + b for a, b in self.merges]},
        }


CLIP_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"


class ClipTokenizer:
    """CLIP's byte-level BPE with the </w> end-of-word suffix, BOS/EOS, EOS as padding."""

    def __init__(self, corpus, n_merges):
        words = []
        for text in corpus:
            for word in regex.findall(CLIP_SPLIT, self.normalize(text)):
                symbols = [BYTES[b] for b in word.encode()]
                words.append(symbols[:-1] + [symbols[-1] + "</w>"])
        self.merges = learn_merges(words, n_merges)
        self.vocab = {}
        for b in range(256):
            self.vocab[BYTES[b]] = len(self.vocab)
        for b in range(256):
            self.vocab[BYTES[b] + "</w>"] = len(self.vocab)
        for a, b in self.merges:
            self.vocab.setdefault(a + b, len(self.vocab))
        self.bos = len(self.vocab)
        self.eos = self.bos + 1
        self.vocab["<|startoftext|>"] = self.bos
        self.vocab["<|endoftext|>"] = self.eos
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.size = len(self.vocab)

    @staticmethod
    def normalize(text):
        return regex.sub(r"\s+", " ", text).lower()

    def encode_padded(self, text, length=77):
        ids = []
        for word in regex.findall(CLIP_SPLIT, self.normalize(text)):
            symbols = [BYTES[b] for b in word.encode()]
            ids += [self.vocab[s] for s in bpe_word(symbols[:-1] + [symbols[-1] + "</w>"], self.ranks)]
        ids = [self.bos] + ids[:length - 2] + [self.eos]
        return ids + [self.eos] * (length - len(ids))

    def json(self):
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": True,
                  "special": True} for s, i in (("<|startoftext|>", self.bos), ("<|endoftext|>", self.eos))]
        vocab = {k: v for k, v in self.vocab.items()}
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
                {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": CLIP_SPLIT}, "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", self.eos],
                               "cls": ["<|startoftext|>", self.bos], "trim_offsets": False,
                               "add_prefix_space": False},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                      "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                      "merges": [a + " " + b for a, b in self.merges]},
        }


class T5Tokenizer:
    """SentencePiece Unigram (Metaspace ▁, Viterbi over piece scores), </s> appended, <pad> padding."""

    def __init__(self, corpus, rng):
        chars = sorted({c for text in corpus for c in text.replace(" ", "")})
        pieces = ["▁"] + chars
        words = [("▁" + w) for text in corpus for w in text.split()]
        for w in words:  # some whole words and prefixes, as a trained model would have
            for end in (2, 3, len(w)):
                if end <= len(w) and w[:end] not in pieces:
                    pieces.append(w[:end])
        self.pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
        for p in pieces:
            self.pieces.append((p, float(-2.0 * len(p) ** 0.5 - rng.uniform(0.5, 3.0))))
        self.score = {p: (i, s) for i, (p, s) in enumerate(self.pieces)}
        self.size = len(self.pieces)

    def encode_word(self, word):
        best = [(-1e30, None)] * (len(word) + 1)
        best[0] = (0.0, None)
        for end in range(1, len(word) + 1):
            for start in range(end):
                piece = word[start:end]
                if piece in self.score and best[start][0] > -1e29:
                    value = best[start][0] + self.score[piece][1]
                    if value > best[end][0]:
                        best[end] = (value, start)
        assert best[-1][1] is not None or word == "", word
        ids, end = [], len(word)
        while end > 0:
            start = best[end][1]
            ids.insert(0, self.score[word[start:end]][0])
            end = start
        return ids

    def encode_padded(self, text, length=128):
        ids = []
        if text:
            spaced = "▁" + text.replace(" ", "▁")
            for word in regex.findall(r"▁[^▁]*", spaced):
                ids += self.encode_word(word)
        ids = ids[:length - 1] + [1]
        return ids + [0] * (length - len(ids))

    def json(self):
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for i, s in enumerate(("<pad>", "</s>", "<unk>"))]
        metaspace = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": metaspace,
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                          {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                               "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                        {"Sequence": {"id": "B", "type_id": 0}},
                                        {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                               "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
            "decoder": metaspace,
            "model": {"type": "Unigram", "unk_id": 2, "vocab": [[p, s] for p, s in self.pieces],
                      "byte_fallback": False},
        }


# ---------------------------------------------------------------- layers (float64)


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def quick_gelu(x):
    return x / (1.0 + np.exp(-1.702 * x))


def silu(x):
    return x / (1.0 + np.exp(-x))


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def linear(w, prefix, x, bias=True):
    y = x @ w.get(prefix + ".weight").T
    return y + w.get(prefix + ".bias") if bias else y


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], -1)


def aligner(w, x):
    """mlp2x_gelu_t5_norm: Linear, GELU, Linear, T5LayerNorm (eps 1e-6)."""
    h = linear(w, "mm_projector.2", gelu(linear(w, "mm_projector.0", x)))
    return rms_norm(h, w.get("mm_projector.3.weight"), 1e-6)


def write_aligner(path, seed, inp, out):
    w = Weights(seed)
    w.linear("mm_projector.0", out, inp)
    w.linear("mm_projector.2", out, out)
    w.add("mm_projector.3.weight", (out,), "n")
    w.save(path)
    return w


# ---------------------------------------------------------------- CLIP-L text (FLUX tokenizer/, text_encoder/)

CLIP_WIDTH, CLIP_HEADS, CLIP_LAYERS = 32, 2, 2


def write_clip_text(flux, tokenizer):
    w = Weights(11)
    w.add("text_model.embeddings.token_embedding.weight", (tokenizer.size, CLIP_WIDTH), scale=0.5)
    w.add("text_model.embeddings.position_embedding.weight", (77, CLIP_WIDTH), scale=0.5)
    for i in range(CLIP_LAYERS):
        p = "text_model.encoder.layers.%d." % i
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            w.linear(p + "self_attn." + name, CLIP_WIDTH, CLIP_WIDTH)
        w.norm(p + "layer_norm1", CLIP_WIDTH)
        w.norm(p + "layer_norm2", CLIP_WIDTH)
        w.linear(p + "mlp.fc1", 2 * CLIP_WIDTH, CLIP_WIDTH)
        w.linear(p + "mlp.fc2", CLIP_WIDTH, 2 * CLIP_WIDTH)
    w.norm("text_model.final_layer_norm", CLIP_WIDTH)
    w.save(os.path.join(flux, "text_encoder", "model.safetensors"))
    write_json(os.path.join(flux, "text_encoder", "config.json"), {
        "architectures": ["CLIPTextModel"], "hidden_act": "quick_gelu", "hidden_size": CLIP_WIDTH,
        "intermediate_size": 2 * CLIP_WIDTH, "layer_norm_eps": 1e-05, "max_position_embeddings": 77,
        "model_type": "clip_text_model", "num_attention_heads": CLIP_HEADS, "num_hidden_layers": CLIP_LAYERS,
        "bos_token_id": tokenizer.bos, "eos_token_id": tokenizer.eos, "pad_token_id": tokenizer.eos,
        "vocab_size": tokenizer.size})
    write_json(os.path.join(flux, "tokenizer", "tokenizer.json"), tokenizer.json())
    return w


def clip_pooled(w, tokenizer, ids):
    """CLIPTextModel pooler_output: final-norm state at the first EOS (causal mask, no padding mask)."""
    x = w.get("text_model.embeddings.token_embedding.weight")[ids] + w.get(
        "text_model.embeddings.position_embedding.weight")[:len(ids)]
    n, hd = len(ids), CLIP_WIDTH // CLIP_HEADS
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for i in range(CLIP_LAYERS):
        p = "text_model.encoder.layers.%d." % i
        h = layer_norm(x, w.get(p + "layer_norm1.weight"), w.get(p + "layer_norm1.bias"), 1e-5)
        q, k, v = (linear(w, p + "self_attn." + s, h).reshape(n, CLIP_HEADS, hd).transpose(1, 0, 2)
                   for s in ("q_proj", "k_proj", "v_proj"))
        att = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd) + mask) @ v
        x = x + linear(w, p + "self_attn.out_proj", att.transpose(1, 0, 2).reshape(n, CLIP_WIDTH))
        h = layer_norm(x, w.get(p + "layer_norm2.weight"), w.get(p + "layer_norm2.bias"), 1e-5)
        x = x + linear(w, p + "mlp.fc2", quick_gelu(linear(w, p + "mlp.fc1", h)))
    x = layer_norm(x, w.get("text_model.final_layer_norm.weight"), w.get("text_model.final_layer_norm.bias"), 1e-5)
    return x[ids.index(tokenizer.eos)][None, :]


def write_flux_index(flux):
    write_json(os.path.join(flux, "model_index.json"), {
        "_class_name": "FluxPipeline", "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "T5EncoderModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "T5TokenizerFast"], "transformer": ["diffusers", "FluxTransformer2DModel"],
        "vae": ["diffusers", "AutoencoderKL"]})


# ---------------------------------------------------------------- T5 encoder (FLUX tokenizer_2/, text_encoder_2/)

T5_WIDTH, T5_KV, T5_HEADS, T5_FF, T5_LAYERS = 32, 8, 4, 64, 2


def write_t5(flux, tokenizer):
    w = Weights(12)
    w.add("shared.weight", (tokenizer.size, T5_WIDTH), scale=1.0)
    w.add("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", (32, T5_HEADS), scale=0.5)
    for i in range(T5_LAYERS):
        p = "encoder.block.%d.layer." % i
        for s in ("q", "k", "v"):
            w.add(p + "0.SelfAttention.%s.weight" % s, (T5_HEADS * T5_KV, T5_WIDTH))
        w.add(p + "0.SelfAttention.o.weight", (T5_WIDTH, T5_HEADS * T5_KV))
        w.add(p + "0.layer_norm.weight", (T5_WIDTH,), "n")
        w.add(p + "1.DenseReluDense.wi_0.weight", (T5_FF, T5_WIDTH))
        w.add(p + "1.DenseReluDense.wi_1.weight", (T5_FF, T5_WIDTH))
        w.add(p + "1.DenseReluDense.wo.weight", (T5_WIDTH, T5_FF))
        w.add(p + "1.layer_norm.weight", (T5_WIDTH,), "n")
    w.add("encoder.final_layer_norm.weight", (T5_WIDTH,), "n")
    w.save(os.path.join(flux, "text_encoder_2", "model.safetensors"))
    write_json(os.path.join(flux, "text_encoder_2", "config.json"), {
        "architectures": ["T5EncoderModel"], "d_ff": T5_FF, "d_kv": T5_KV, "d_model": T5_WIDTH,
        "dense_act_fn": "gelu_new", "feed_forward_proj": "gated-gelu", "layer_norm_epsilon": 1e-06,
        "model_type": "t5", "num_heads": T5_HEADS, "num_layers": T5_LAYERS, "relative_attention_max_distance": 128,
        "relative_attention_num_buckets": 32, "vocab_size": tokenizer.size})
    write_json(os.path.join(flux, "tokenizer_2", "tokenizer.json"), tokenizer.json())
    return w


def t5_bucket(relative):
    """Bidirectional bucket of key - query, 32 buckets, max distance 128."""
    half = 16
    bucket = (relative > 0).astype(np.int64) * half
    n = np.abs(relative)
    exact = half // 2
    large = exact + (np.log(np.maximum(n, 1) / exact) / math.log(128 / exact) * (half - exact)).astype(np.int64)
    large = np.minimum(large, half - 1)
    return bucket + np.where(n < exact, n, large)


def t5_encode(w, ids):
    """T5EncoderModel last_hidden_state with no attention mask, as FLUX calls it."""
    n = len(ids)
    x = w.get("shared.weight")[ids]
    pos = np.arange(n)
    bias = w.get("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")[
        t5_bucket(pos[None, :] - pos[:, None])].transpose(2, 0, 1)
    for i in range(T5_LAYERS):
        p = "encoder.block.%d.layer." % i
        h = rms_norm(x, w.get(p + "0.layer_norm.weight"), 1e-6)
        q, k, v = (linear(w, p + "0.SelfAttention." + s, h, False).reshape(n, T5_HEADS, T5_KV).transpose(1, 0, 2)
                   for s in ("q", "k", "v"))
        att = softmax(q @ k.transpose(0, 2, 1) + bias) @ v
        x = x + linear(w, p + "0.SelfAttention.o", att.transpose(1, 0, 2).reshape(n, -1), False)
        h = rms_norm(x, w.get(p + "1.layer_norm.weight"), 1e-6)
        ff = gelu_tanh(linear(w, p + "1.DenseReluDense.wi_0", h, False)) * linear(w, p + "1.DenseReluDense.wi_1", h,
                                                                                  False)
        x = x + linear(w, p + "1.DenseReluDense.wo", ff, False)
    return rms_norm(x, w.get("encoder.final_layer_norm.weight"), 1e-6)[None]


# ---------------------------------------------------------------- BLIP-2 vision tower (blip2-vision/)

EVA_WIDTH, EVA_HEADS, EVA_LAYERS, EVA_IMAGE, EVA_PATCH = 16, 2, 2, 224, 14
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073])
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711])


def write_eva(folder):
    grid = EVA_IMAGE // EVA_PATCH
    w = Weights(13)
    d = EVA_WIDTH
    w.add("vision_model.embeddings.class_embedding", (1, 1, d), scale=0.5)
    w.add("vision_model.embeddings.patch_embedding.weight", (d, 3, EVA_PATCH, EVA_PATCH))
    w.add("vision_model.embeddings.patch_embedding.bias", (d,), scale=0.05)
    w.add("vision_model.embeddings.position_embedding", (1, 1 + grid * grid, d), scale=0.5)
    for i in range(EVA_LAYERS):
        p = "vision_model.encoder.layers.%d." % i
        w.add(p + "self_attn.qkv.weight", (3 * d, d))
        w.add(p + "self_attn.q_bias", (d,), scale=0.05)
        w.add(p + "self_attn.v_bias", (d,), scale=0.05)
        w.linear(p + "self_attn.projection", d, d)
        w.norm(p + "layer_norm1", d)
        w.norm(p + "layer_norm2", d)
        w.linear(p + "mlp.fc1", 4 * d, d)
        w.linear(p + "mlp.fc2", d, 4 * d)
    w.norm("vision_model.post_layernorm", d)
    w.save(os.path.join(folder, "model.safetensors"))
    write_json(os.path.join(folder, "config.json"), {
        "architectures": ["Blip2ForConditionalGeneration"], "model_type": "blip-2", "num_query_tokens": 32,
        "vision_config": {"hidden_act": "gelu", "hidden_size": d, "image_size": EVA_IMAGE, "intermediate_size": 4 * d,
                          "layer_norm_eps": 1e-06, "model_type": "blip_2_vision_model",
                          "num_attention_heads": EVA_HEADS, "num_hidden_layers": EVA_LAYERS,
                          "patch_size": EVA_PATCH, "qkv_bias": True}})
    return w


def eva_tokens(w, rgb):
    """Blip2Processor (224² already: the resize is an identity) → vision tower → 65 tokens."""
    d, hd, grid = EVA_WIDTH, EVA_WIDTH // EVA_HEADS, EVA_IMAGE // EVA_PATCH
    assert rgb.shape == (EVA_IMAGE, EVA_IMAGE, 3)
    pixels = ((rgb / 255.0 - CLIP_MEAN) / CLIP_STD).transpose(2, 0, 1)
    patches = pixels.reshape(3, grid, EVA_PATCH, grid, EVA_PATCH).transpose(1, 3, 0, 2, 4).reshape(grid * grid, -1)
    x = patches @ w.get("vision_model.embeddings.patch_embedding.weight").reshape(d, -1).T + w.get(
        "vision_model.embeddings.patch_embedding.bias")
    x = np.concatenate([w.get("vision_model.embeddings.class_embedding")[0], x]) + w.get(
        "vision_model.embeddings.position_embedding")[0]
    n = len(x)
    for i in range(EVA_LAYERS):
        p = "vision_model.encoder.layers.%d." % i
        h = layer_norm(x, w.get(p + "layer_norm1.weight"), w.get(p + "layer_norm1.bias"), 1e-6)
        qkv_bias = np.concatenate([w.get(p + "self_attn.q_bias"), np.zeros(d), w.get(p + "self_attn.v_bias")])
        qkv = (h @ w.get(p + "self_attn.qkv.weight").T + qkv_bias).reshape(n, 3, EVA_HEADS, hd).transpose(1, 2, 0, 3)
        att = softmax(qkv[0] @ qkv[1].transpose(0, 2, 1) / math.sqrt(hd)) @ qkv[2]
        x = x + linear(w, p + "self_attn.projection", att.transpose(1, 0, 2).reshape(n, d))
        h = layer_norm(x, w.get(p + "layer_norm2.weight"), w.get(p + "layer_norm2.bias"), 1e-6)
        x = x + linear(w, p + "mlp.fc2", gelu(linear(w, p + "mlp.fc1", h)))
    x = layer_norm(x, w.get("vision_model.post_layernorm.weight"), w.get("vision_model.post_layernorm.bias"), 1e-6)
    # F.interpolate(bilinear, align_corners=False) by exactly 1/2 averages each 2×2 block.
    g = x[1:].reshape(grid, grid, d)
    half = g.reshape(grid // 2, 2, grid // 2, 2, d).mean((1, 3)).reshape(-1, d)
    return np.concatenate([x[:1], half])


# ---------------------------------------------------------------- Qwen2-VL (qwen2-vl-7b-instruct/)

Q_WIDTH, Q_HEADS, Q_KV, Q_FF, Q_LAYERS, Q_SECTION = 32, 2, 1, 64, 2, [2, 3, 3]
QV_WIDTH, QV_HEADS, QV_DEPTH, QV_MLP = 16, 2, 2, 2
Q_PATCH, Q_TEMPORAL, Q_MERGE = 14, 2, 2
Q_MEAN = np.array([0.5, 0.45, 0.4])  # not the default, so reading preprocessor_config.json matters
Q_STD = np.array([0.25, 0.3, 0.35])
Q_VOCAB_PAD = 24  # the model's vocabulary is padded past the tokenizer's, as Qwen2-VL-7B's


class Qwen:
    def __init__(self, folder, tokenizer):
        self.tok = tokenizer
        self.vocab = tokenizer.size + Q_VOCAB_PAD
        self.image_id = tokenizer.special["<|image_pad|>"]
        self.eos_config = tokenizer.special["<|im_end|>"]
        self.eos_generation = [tokenizer.special["<|im_end|>"], tokenizer.special["<|endoftext|>"]]
        w = self.w = Weights(14)
        e = QV_WIDTH
        w.add("visual.patch_embed.proj.weight", (e, 3, Q_TEMPORAL, Q_PATCH, Q_PATCH))
        for b in range(QV_DEPTH):
            p = "visual.blocks.%d." % b
            w.norm(p + "norm1", e)
            w.norm(p + "norm2", e)
            w.linear(p + "attn.qkv", 3 * e, e)
            w.linear(p + "attn.proj", e, e)
            w.linear(p + "mlp.fc1", QV_MLP * e, e)
            w.linear(p + "mlp.fc2", e, QV_MLP * e)
        w.norm("visual.merger.ln_q", e)
        w.linear("visual.merger.mlp.0", 4 * e, 4 * e)
        w.linear("visual.merger.mlp.2", Q_WIDTH, 4 * e)
        hd = Q_WIDTH // Q_HEADS
        w.add("model.embed_tokens.weight", (self.vocab, Q_WIDTH), scale=1.0)
        for i in range(Q_LAYERS):
            p = "model.layers.%d." % i
            w.norm(p + "input_layernorm", Q_WIDTH, False)
            w.norm(p + "post_attention_layernorm", Q_WIDTH, False)
            w.linear(p + "self_attn.q_proj", Q_WIDTH, Q_WIDTH)
            w.linear(p + "self_attn.k_proj", Q_KV * hd, Q_WIDTH)
            w.linear(p + "self_attn.v_proj", Q_KV * hd, Q_WIDTH)
            w.linear(p + "self_attn.o_proj", Q_WIDTH, Q_WIDTH, False)
            w.linear(p + "mlp.gate_proj", Q_FF, Q_WIDTH, False)
            w.linear(p + "mlp.up_proj", Q_FF, Q_WIDTH, False)
            w.linear(p + "mlp.down_proj", Q_WIDTH, Q_FF, False)
        w.norm("model.norm", Q_WIDTH, False)
        head = w.add("lm_head.weight", (self.vocab, Q_WIDTH), scale=0.5)
        # EOS rows made strong, so greedy decoding would pick them without the min_tokens rule.
        for eos in self.eos_generation:
            w.tensors["lm_head.weight"][eos] *= 4.0
        w.save(os.path.join(folder, "model.safetensors"))
        write_json(os.path.join(folder, "config.json"), {
            "architectures": ["Qwen2VLForConditionalGeneration"], "attention_dropout": 0.0,
            "bos_token_id": tokenizer.special["<|endoftext|>"], "eos_token_id": self.eos_config,
            "vision_start_token_id": tokenizer.special["<|vision_start|>"],
            "vision_end_token_id": tokenizer.special["<|vision_end|>"],
            "vision_token_id": tokenizer.special["<|vision_pad|>"], "image_token_id": self.image_id,
            "video_token_id": tokenizer.special["<|video_pad|>"], "hidden_act": "silu", "hidden_size": Q_WIDTH,
            "initializer_range": 0.02, "intermediate_size": Q_FF, "max_position_embeddings": 4096,
            "max_window_layers": Q_LAYERS, "model_type": "qwen2_vl", "num_attention_heads": Q_HEADS,
            "num_hidden_layers": Q_LAYERS, "num_key_value_heads": Q_KV, "rms_norm_eps": 1e-06,
            "rope_theta": 1000000.0, "sliding_window": 4096, "tie_word_embeddings": False,
            "torch_dtype": "float32", "use_cache": True, "use_sliding_window": False,
            "vision_config": {"depth": QV_DEPTH, "embed_dim": QV_WIDTH, "mlp_ratio": QV_MLP, "num_heads": QV_HEADS,
                              "in_chans": 3, "hidden_size": Q_WIDTH, "patch_size": Q_PATCH,
                              "spatial_merge_size": Q_MERGE, "spatial_patch_size": Q_PATCH,
                              "temporal_patch_size": Q_TEMPORAL, "hidden_act": "quick_gelu"},
            "rope_scaling": {"type": "mrope", "mrope_section": Q_SECTION}, "vocab_size": self.vocab})
        write_json(os.path.join(folder, "generation_config.json"), {
            "bos_token_id": tokenizer.special["<|endoftext|>"], "do_sample": True,
            "eos_token_id": self.eos_generation, "pad_token_id": tokenizer.special["<|endoftext|>"],
            "temperature": 0.01, "top_k": 1, "top_p": 0.001})
        write_json(os.path.join(folder, "preprocessor_config.json"), {
            "min_pixels": 3136, "max_pixels": 12845056, "patch_size": Q_PATCH, "temporal_patch_size": Q_TEMPORAL,
            "merge_size": Q_MERGE, "image_mean": list(Q_MEAN), "image_std": list(Q_STD),
            "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2VLProcessor"})
        write_json(os.path.join(folder, "tokenizer.json"), tokenizer.json())

    # -- the processor: sides already multiples of 28 within the pixel budget, so no resize
    @staticmethod
    def pixel_values(rgb):
        h, w, _ = rgb.shape
        assert h % 28 == 0 and w % 28 == 0 and 3136 <= h * w <= 12845056
        x = ((rgb / 255.0 - Q_MEAN) / Q_STD).transpose(2, 0, 1)
        x = np.stack([x] * Q_TEMPORAL)  # a still image fills the temporal patch
        gh, gw = h // Q_PATCH, w // Q_PATCH
        x = x.reshape(1, Q_TEMPORAL, 3, gh // Q_MERGE, Q_MERGE, Q_PATCH, gw // Q_MERGE, Q_MERGE, Q_PATCH)
        x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).reshape(gh * gw, -1)
        return x, (1, gh, gw)

    def vision(self, pixels, grid):
        w, e = self.w, QV_WIDTH
        hd = e // QV_HEADS
        x = pixels @ w.get("visual.patch_embed.proj.weight").reshape(e, -1).T
        _, gh, gw = grid
        hpos = np.arange(gh)[:, None].repeat(gw, 1).reshape(gh // 2, 2, gw // 2, 2).transpose(0, 2, 1, 3).ravel()
        wpos = np.arange(gw)[None, :].repeat(gh, 0).reshape(gh // 2, 2, gw // 2, 2).transpose(0, 2, 1, 3).ravel()
        inv = 1.0 / (10000.0 ** (np.arange(0, hd // 2, 2) / (hd // 2)))
        freqs = np.concatenate([np.outer(hpos, inv), np.outer(wpos, inv)], -1)
        emb = np.concatenate([freqs, freqs], -1)
        cos, sin = np.cos(emb)[:, None], np.sin(emb)[:, None]
        n = len(x)
        for b in range(QV_DEPTH):
            p = "visual.blocks.%d." % b
            h = layer_norm(x, w.get(p + "norm1.weight"), w.get(p + "norm1.bias"), 1e-6)
            qkv = linear(w, p + "attn.qkv", h).reshape(n, 3, QV_HEADS, hd)
            q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            att = softmax(q.transpose(1, 0, 2) @ k.transpose(1, 2, 0) / math.sqrt(hd)) @ v.transpose(1, 0, 2)
            x = x + linear(w, p + "attn.proj", att.transpose(1, 0, 2).reshape(n, e))
            h = layer_norm(x, w.get(p + "norm2.weight"), w.get(p + "norm2.bias"), 1e-6)
            x = x + linear(w, p + "mlp.fc2", quick_gelu(linear(w, p + "mlp.fc1", h)))
        x = layer_norm(x, w.get("visual.merger.ln_q.weight"), w.get("visual.merger.ln_q.bias"), 1e-6)
        return linear(w, "visual.merger.mlp.2", gelu(linear(w, "visual.merger.mlp.0", x.reshape(-1, 4 * e))))

    def rope_index(self, ids, grids):
        """transformers' get_rope_index for one sequence → positions [3, n] and the decode offset."""
        positions, start, i, image = [], 0, 0, 0
        while i < len(ids):
            if ids[i] == self.image_id:
                _, gh, gw = grids[image]
                h, w = gh // Q_MERGE, gw // Q_MERGE
                pos = np.stack([np.zeros(h * w), np.repeat(np.arange(h), w), np.tile(np.arange(w), h)]) + start
                positions.append(pos)
                start = int(pos.max()) + 1
                i += h * w
                image += 1
            else:
                positions.append(np.full((3, 1), start))
                start += 1
                i += 1
        positions = np.concatenate(positions, 1)
        return positions, int(positions.max()) + 1 - len(ids)

    def language(self, ids, features, positions):
        """Final-norm hidden states [n, width] of the whole sequence (causal)."""
        w = self.w
        hd, n = Q_WIDTH // Q_HEADS, len(ids)
        x = w.get("model.embed_tokens.weight")[ids]
        slots = np.array(ids) == self.image_id
        if slots.any():
            x[slots] = features
        inv = 1.0 / (1000000.0 ** (np.arange(0, hd, 2) / hd))
        freqs = positions[:, :, None] * inv  # [3, n, hd/2]
        emb = np.concatenate([freqs, freqs], -1)
        bounds = np.cumsum([0] + Q_SECTION * 2)
        pick = np.concatenate([emb[k % 3, :, bounds[k]:bounds[k + 1]] for k in range(6)], -1)
        cos, sin = np.cos(pick)[:, None], np.sin(pick)[:, None]
        mask = np.triu(np.full((n, n), -np.inf), 1)
        for i in range(Q_LAYERS):
            p = "model.layers.%d." % i
            h = rms_norm(x, w.get(p + "input_layernorm.weight"), 1e-6)
            q = linear(w, p + "self_attn.q_proj", h).reshape(n, Q_HEADS, hd)
            k = linear(w, p + "self_attn.k_proj", h).reshape(n, Q_KV, hd)
            v = linear(w, p + "self_attn.v_proj", h).reshape(n, Q_KV, hd)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            k, v = np.repeat(k, Q_HEADS // Q_KV, 1), np.repeat(v, Q_HEADS // Q_KV, 1)
            att = softmax(q.transpose(1, 0, 2) @ k.transpose(1, 2, 0) / math.sqrt(hd) + mask) @ v.transpose(1, 0, 2)
            x = x + linear(w, p + "self_attn.o_proj", att.transpose(1, 0, 2).reshape(n, Q_WIDTH), False)
            h = rms_norm(x, w.get(p + "post_attention_layernorm.weight"), 1e-6)
            x = x + linear(w, p + "mlp.down_proj", silu(linear(w, p + "mlp.gate_proj", h, False)) *
                           linear(w, p + "mlp.up_proj", h, False), False)
        return rms_norm(x, w.get("model.norm.weight"), 1e-6)

    def generate(self, ids, features, grids, max_tokens, min_tokens):
        """Greedy vLLM-style decoding: (tokens, the states they were picked from, smallest top-2 logit gap)."""
        positions, delta = self.rope_index(ids, grids)
        seq, tokens, states, gap = list(ids), [], [], float("inf")
        suppressed = sorted({self.eos_config, *self.eos_generation})
        while len(tokens) < max_tokens:
            extra = np.arange(len(ids), len(seq)) + delta
            pos = np.concatenate([positions, np.stack([extra] * 3)], 1) if len(seq) > len(ids) else positions
            state = self.language(seq, features, pos)[-1]
            logits = state @ self.w.get("lm_head.weight").T
            if len(tokens) < min_tokens:
                logits[suppressed] = -np.inf
            top = np.sort(logits)[-2:]
            gap = min(gap, top[1] - top[0])
            token = int(np.argmax(logits))
            states.append(state)
            tokens.append(token)
            seq.append(token)  # fed back; the last one's state is never asked for
        return tokens, np.array(states), gap


# ---------------------------------------------------------------- boards

OFFICIAL_INSTRUCTION = ("I give you several words and pictures. First, please analyse what the next picture is. Then "
                        "give me a detailed diffusion prompt to describe the next picture. Please only provide me the "
                        "detailed prompt and start the answer with 'Create an image'.\n\n")


def qwen2vl_chat(content, add_vision_id):
    """Qwen2-VL-7B-Instruct's chat template for [system, user(content)] with add_generation_prompt."""
    text = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    pictures = 0
    for item in content:
        if item["type"] == "image":
            pictures += 1
            if add_vision_id:
                text += "Picture %d: " % pictures
            text += "<|vision_start|><|image_pad|><|vision_end|>"
        else:
            text += item["text"]
    return text + "<|im_end|>\n<|im_start|>assistant\n"


def smooth_image(h, w, seed, alpha=False):
    """A smooth colour pattern (compresses well; random enough to tell images apart)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    channels = [127.5 + 120 * np.sin(rng.uniform(2, 9) * x + rng.uniform(2, 9) * y + rng.uniform(0, 6)) for _ in
                range(3)]
    if alpha:  # transparent left half: viewer and official decoding differ there
        channels.append(np.where(x < 0.25, 0, 255))
    return np.stack(channels, -1).round().clip(0, 255).astype(np.uint8)


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def lvlm_golden(out, qwen_tok, clip_tok, t5_tok):
    models = os.path.join(out, "qwen2-vl-7b-instruct")
    qwen = Qwen(models, qwen_tok)
    flux = os.path.join(out, "flux-dev")
    clip = write_clip_text(flux, clip_tok)
    write_t5(flux, t5_tok)  # unused in this mode, present as in every FLUX folder
    write_flux_index(flux)
    align = write_aligner(os.path.join(out, "thinkdiff-lvlm", "thinkdiff_lvlm.safetensors"), 15, Q_WIDTH, T5_WIDTH)

    images = {"white.png": smooth_image(56, 84, 1), "blue.png": smooth_image(84, 56, 2)}
    for name, rgb in images.items():
        write_png(os.path.join(out, name), rgb)
    cases = {
        # scripts/test/test_mllama_t5_decoder_flux_multi_image.py: words and pictures, then the next word
        "io.safetensors": [("text", "Word 1: white, "), ("image", "white.png"), ("text", "\n\nWord 2: blue, "),
                           ("image", "blue.png"), ("text", "\n\nWord 3: red, ")],
        # scripts/test/test_mllama_t5_decoder_flux.py: one image, then the request
        "single.safetensors": [("image", "blue.png"), ("text", "Create a prompt for a dog in this style.")],
    }
    for io_name, items in cases.items():
        n_images = sum(kind == "image" for kind, _ in items)
        multi = n_images >= 2
        content = ([{"type": "text", "text": OFFICIAL_INSTRUCTION}] if multi else []) + [
            {"type": kind, kind: value} for kind, value in items]
        chat = qwen2vl_chat(content, add_vision_id=multi)
        raw = qwen_tok.encode(chat)
        grids, feats = [], []
        for kind, value in items:
            if kind == "image":
                pv, grid = qwen.pixel_values(images[value])
                grids.append(grid)
                feats.append(qwen.vision(pv, grid))
        ids, image = [], 0
        for t in raw:
            if t == qwen.image_id:
                ids += [t] * (grids[image][1] * grids[image][2] // 4)
                image += 1
            else:
                ids.append(t)
        features = np.concatenate(feats)
        tokens, states, gap = qwen.generate(ids, features, grids, 128, 128)
        assert gap > 1e-3, "a near tie in greedy decoding (%g): pick other seeds" % gap
        embeds = aligner(align, states)[None]
        clip_ids = clip_tok.encode_padded("")
        pooled = clip_pooled(clip, clip_tok, clip_ids)

        # What the golden must catch:
        free, _, _ = qwen.generate(ids, features, grids, 128, 0)
        assert free != tokens, "EOS suppression would go unnoticed"
        shifted = aligner(align, np.concatenate([states[1:], states[-1:]]))[None]
        assert rel(shifted, embeds) > 1e-2, "an off-by-one hidden-state selection would go unnoticed"
        joined = clip_pooled(clip, clip_tok, clip_tok.encode_padded(" ".join(v for k, v in items if k == "text")))
        assert rel(joined, pooled) > 1e-2, "pooling the board text would go unnoticed"

        board = {"mode": "lvlm", "items": [{kind: value} for kind, value in items], "max_new_tokens": 128,
                 "temperature": 0.0, "seed": 7}
        write_safetensors(os.path.join(out, io_name), {
            "prompt_embeds": embeds, "pooled": pooled,
            "text_ids": np.array([ids], dtype=np.int32), "thought_ids": np.array([tokens], dtype=np.int32),
            "clip_ids": np.array([clip_ids], dtype=np.int32)},
            {"board": json.dumps(board), "chat": chat})
        print("%s/%s: %d prompt ids, %d thought ids (without the min_tokens rule EOS is picked %d times; %d ids past the tokenizer), smallest greedy gap %.3g"
              % (os.path.basename(out), io_name, len(ids), len(tokens), sum(t in qwen.eos_generation for t in free),
                 sum(t >= qwen_tok.size for t in tokens), gap))


def clip_golden(out, t5_tok, clip_tok):
    flux = os.path.join(out, "flux-dev")
    clip = write_clip_text(flux, clip_tok)
    t5 = write_t5(flux, t5_tok)
    write_flux_index(flux)
    eva = write_eva(os.path.join(out, "blip2-vision"))
    align = write_aligner(os.path.join(out, "thinkdiff-clip", "thinkdiff_clip.safetensors"), 16, EVA_WIDTH, T5_WIDTH)
    images = {"sunglasses.png": smooth_image(224, 224, 3), "animal.png": smooth_image(224, 224, 4, alpha=True)}
    for name, rgb in images.items():
        write_png(os.path.join(out, name), rgb)

    def rgb_of(name, official):
        pixels = images[name].astype(np.float64)
        if pixels.shape[2] == 3:
            return pixels
        if official:  # PIL convert("RGB"): alpha dropped
            return pixels[..., :3]
        # viewer: over white, rounded as the engine's 8-bit composite
        return np.floor((pixels[..., :3] * pixels[..., 3:] + 255.0 * (255.0 - pixels[..., 3:]) + 127.0) / 255.0)

    cases = {
        # configs/test_thinkdiff_clip_two_images.yaml: two images, questions [""]
        "io.safetensors": ([("image", "animal.png"), ("image", "sunglasses.png")], "official"),
        # configs/test_thinkdiff_clip_image_text.yaml: an image and a prompt (here two text items, joined)
        "text.safetensors": ([("text", "a cat"), ("image", "sunglasses.png"), ("text", "in the snow")], "viewer"),
    }
    for io_name, (items, decode) in cases.items():
        prompt = " ".join(v for k, v in items if k == "text" and v)
        blocks = [aligner(align, eva_tokens(eva, rgb_of(v, decode == "official"))) for k, v in items if k == "image"]
        text_ids = t5_tok.encode_padded(prompt, 128)
        blocks.append(t5_encode(t5, text_ids)[0])
        embeds = np.concatenate(blocks)[None]
        clip_ids = clip_tok.encode_padded(prompt)
        pooled = clip_pooled(clip, clip_tok, clip_ids)
        if any(k == "text" for k, _ in items):
            empty = clip_pooled(clip, clip_tok, clip_tok.encode_padded(""))
            assert rel(empty, pooled) > 1e-2, "pooling the empty prompt would go unnoticed"
        if decode == "official":
            other = aligner(align, eva_tokens(eva, rgb_of("animal.png", False)))
            assert rel(other, blocks[0]) > 1e-2, "the image decoding option would go unnoticed"
        board = {"mode": "clip", "items": [{k: v} for k, v in items], "image_decode": decode}
        write_safetensors(os.path.join(out, io_name), {
            "prompt_embeds": embeds, "pooled": pooled, "text_ids": np.array([text_ids], dtype=np.int32),
            "clip_ids": np.array([clip_ids], dtype=np.int32)}, {"board": json.dumps(board), "prompt": prompt})
        print("%s/%s: prompt %r, layout %s" % (os.path.basename(out), io_name, prompt,
                                               " + ".join(str(len(b)) for b in blocks)))


def main():
    texts = [OFFICIAL_INSTRUCTION, "Word 1: white, ", "\n\nWord 2: blue, ", "\n\nWord 3: red, ",
             "Create a prompt for a dog in this style.", "You are a helpful assistant.", "system", "user",
             "assistant", "Picture 1: ", "Picture 2: "]
    qwen_tok = QwenTokenizer(texts, 60)
    clip_tok = ClipTokenizer(texts + ["a cat", "in the snow"], 40)
    t5_tok = T5Tokenizer(["a cat in the snow"], np.random.default_rng(17))
    for name in ("thinkdiff_lvlm", "thinkdiff_clip"):
        path = os.path.join(ROOT, name)
        for entry in os.listdir(path) if os.path.isdir(path) else []:
            if entry != "README.md":
                target = os.path.join(path, entry)
                shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
    lvlm_golden(os.path.join(ROOT, "thinkdiff_lvlm"), qwen_tok, clip_tok, t5_tok)
    clip_golden(os.path.join(ROOT, "thinkdiff_clip"), t5_tok, clip_tok)


if __name__ == "__main__":
    sys.exit(main())
