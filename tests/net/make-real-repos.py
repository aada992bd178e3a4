#!/usr/bin/env python3
"""Lays the demo models (`thinkdiff make-demo-models`) out as the real Hugging Face
repositories publish them, for the imitation hub: the same file names, shard
counts and index files (reference/hf_repos.md, checked 2026-12-03), tiny content.

    make-real-repos.py DEMO_MODELS TOKENIZERS OUT

writes OUT/<org>/<name>/<path> for every file and OUT/listing.json:
{"<org>/<name>": [[path, declared size in bytes], …]}, the size each file has in
the real repository (weights), or its own size (small files). Standard library only."""
import json
import os
import random
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "io-pth"))
from pth_build import dict_of, i, pickle_of, s, tensor, write_pth  # noqa: E402

GB = 1000 ** 3
MB = 1000 ** 2
DTYPE_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}
STORAGE = {"F32": "FloatStorage", "F16": "HalfStorage", "BF16": "BFloat16Storage"}


# ---- safetensors ----
def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        tensors[name] = (info["dtype"], info["shape"], data[b:e])
    return tensors, meta


def write_st(path, tensors, meta=None):
    header, blobs, offset = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def shard(src, out_dir, stem, count, groups=None):
    """Splits src into stem-0000k-of-0000N.safetensors and <stem>.safetensors.index.json.
    groups: optional name → shard number (1-based); the rest are spread in name order."""
    tensors, meta = read_st(src)
    names = sorted(tensors)
    parts = [dict() for _ in range(count)]
    spread = [n for n in names if not (groups and n in groups)]
    for k, name in enumerate(spread):
        parts[k * count // max(len(spread), 1)][name] = tensors[name]
    for name, number in (groups or {}).items():
        parts[number - 1][name] = tensors[name]
    weight_map, total = {}, 0
    files = []
    for k, part in enumerate(parts):
        file = f"{stem}-{k + 1:05d}-of-{count:05d}.safetensors"
        write_st(os.path.join(out_dir, file), part, meta)
        files.append(file)
        for name, (_, _, raw) in part.items():
            weight_map[name] = file
            total += len(raw)
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(out_dir, f"{stem}.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
    return files


def tiny_tensors(names):
    """A 2×2 f32 tensor per name (stand-ins for weights no component reads)."""
    return {n: ("F32", [2, 2], struct.pack("<4f", 0.5, -0.25, 0.125, 1.0)) for n in names}


# ---- files ----
class Repo:
    def __init__(self, out, repo):
        self.repo, self.root, self.files = repo, os.path.join(out, repo), []

    def path(self, rel):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def text(self, rel, content, declared=None):
        with open(self.path(rel), "w") as f:
            f.write(content)
        self.files.append((rel, declared))

    def copy(self, src, rel, declared=None):
        shutil.copyfile(src, self.path(rel))
        self.files.append((rel, declared))

    def written(self, rel, declared=None):
        self.files.append((rel, declared))

    def listing(self):
        return [[rel, declared if declared is not None else os.path.getsize(os.path.join(self.root, rel))]
                for rel, declared in sorted(self.files)]


def flux(out, demo, tok, name, single_file):
    r = Repo(out, "black-forest-labs/" + name)
    src = os.path.join(demo, "flux-dev")
    r.copy(os.path.join(src, "model_index.json"), "model_index.json")
    r.copy(os.path.join(src, "scheduler", "scheduler_config.json"), "scheduler/scheduler_config.json")
    for folder in ("text_encoder", "text_encoder_2", "transformer", "vae"):
        r.copy(os.path.join(src, folder, "config.json"), folder + "/config.json")
    r.copy(os.path.join(src, "text_encoder", "model.safetensors"), "text_encoder/model.safetensors", 246144152)
    r.copy(os.path.join(src, "vae", "diffusion_pytorch_model.safetensors"),
           "vae/diffusion_pytorch_model.safetensors", 167666902)
    sizes = [4994582224, 4530066360]
    for file, size in zip(shard(os.path.join(src, "text_encoder_2", "model.safetensors"),
                                r.path("text_encoder_2"), "model", 2), sizes):
        r.written("text_encoder_2/" + file, size)
    r.written("text_encoder_2/model.safetensors.index.json")
    sizes = [9983040304, 9949328904, 3870584832]
    for file, size in zip(shard(os.path.join(src, "transformer", "diffusion_pytorch_model.safetensors"),
                                r.path("transformer"), "diffusion_pytorch_model", 3), sizes):
        r.written("transformer/" + file, size)
    r.written("transformer/diffusion_pytorch_model.safetensors.index.json")
    # CLIP's tokenizer as slow-tokenizer files, T5's as spiece.model + tokenizer.json.
    r.copy(os.path.join(tok, "clip", "vocab.json"), "tokenizer/vocab.json")
    r.copy(os.path.join(tok, "clip", "merges.txt"), "tokenizer/merges.txt")
    r.text("tokenizer/special_tokens_map.json", '{"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>"}\n')
    r.text("tokenizer/tokenizer_config.json", '{"model_max_length": 77}\n')
    r.copy(os.path.join(tok, "t5", "spiece.model"), "tokenizer_2/spiece.model")
    r.copy(os.path.join(tok, "t5", "tokenizer.json"), "tokenizer_2/tokenizer.json")
    r.text("tokenizer_2/special_tokens_map.json", '{"eos_token": "</s>", "pad_token": "<pad>"}\n')
    r.text("tokenizer_2/tokenizer_config.json", '{"model_max_length": 512}\n')
    # The root's single files duplicate the folders: never fetched.
    r.text(single_file, "not fetched\n", 23802932552)
    r.text("ae.safetensors", "not fetched\n", 335304388)
    r.text("README.md", "# " + name + "\n")
    r.text("LICENSE.md", "licence\n")
    return r


def qwen2_vl(out, demo, tok):
    r = Repo(out, "Qwen/Qwen2-VL-7B-Instruct")
    src = os.path.join(demo, "qwen2-vl-7b-instruct")
    sizes = [3900233256, 3864726320, 3864726424, 3864733680, 1089994880]
    for file, size in zip(shard(os.path.join(src, "model.safetensors"), r.root, "model", 5), sizes):
        r.written(file, size)
    r.written("model.safetensors.index.json")
    for f in ("config.json", "preprocessor_config.json", "tokenizer.json"):
        r.copy(os.path.join(src, f), f)
    r.text("generation_config.json", json.dumps({"bos_token_id": 151643, "eos_token_id": [151645, 151643],
                                                 "pad_token_id": 151643, "do_sample": True, "temperature": 0.01,
                                                 "top_k": 1, "top_p": 0.001}) + "\n")
    r.text("chat_template.json", json.dumps({"chat_template": "{% for message in messages %}{% endfor %}"}) + "\n")
    r.copy(os.path.join(tok, "qwen2", "tokenizer_config.json"), "tokenizer_config.json")
    r.text("vocab.json", '{"!": 0}\n')
    r.text("merges.txt", "#version: 0.2\n")
    r.text("README.md", "# Qwen2-VL-7B-Instruct\n")
    return r


def blip2(out, demo):
    r = Repo(out, "Salesforce/blip2-flan-t5-xxl")
    src = os.path.join(demo, "blip2-vision")
    vision, meta = read_st(os.path.join(src, "model.safetensors"))
    # The vision tower in the first shard, the language model and Q-Former in the others.
    others = {2: ["language_model.shared.weight", "language_model.encoder.block.0.layer.0.SelfAttention.q.weight"],
              3: ["language_model.encoder.block.12.layer.1.DenseReluDense.wi_0.weight"],
              4: ["language_model.decoder.block.0.layer.0.SelfAttention.q.weight"],
              5: ["language_model.lm_head.weight", "qformer.encoder.layer.0.attention.attention.query.weight",
                  "query_tokens", "language_projection.weight"]}
    weight_map, total = {}, 0
    sizes = [9961410520, 9949326984, 9999953488, 9940296424, 9246532120]
    for number in range(1, 6):
        file = f"model-{number:05d}-of-00005.safetensors"
        part = vision if number == 1 else tiny_tensors(others[number])
        write_st(r.path(file), part, meta)
        r.written(file, sizes[number - 1])
        for name, (_, _, raw) in part.items():
            weight_map[name] = file
            total += len(raw)
    r.text("model.safetensors.index.json", json.dumps({"metadata": {"total_size": total},
                                                       "weight_map": dict(sorted(weight_map.items()))}, indent=2))
    for number in range(1, 7):
        r.text(f"pytorch_model-{number:05d}-of-00006.bin", "old .bin shard, not fetched\n", 9 * GB)
    r.text("pytorch_model.bin.index.json", '{"weight_map": {}}\n')
    r.copy(os.path.join(src, "config.json"), "config.json")
    r.text("preprocessor_config.json", json.dumps({"do_normalize": True, "image_mean": [0.48145466, 0.4578275,
                                                   0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
                                                   "size": {"height": 224, "width": 224}}) + "\n")
    r.text("spiece.model", "sentencepiece model, not fetched\n", 791656)
    r.text("tokenizer.json", '{"not": "fetched"}\n', 2422256)
    r.text("special_tokens_map.json", '{"eos_token": "</s>"}\n')
    r.text("tokenizer_config.json", '{"model_max_length": 512}\n')
    return r


def training_checkpoint(src, dest):
    """A ThinkDiff aligner as published: {"model": {mm_projector.*}, "optimizer", "config", "scaler", "epoch"}."""
    tensors, _ = read_st(src)
    storages, model = {}, []
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        key = str(len(storages))
        storages[key] = raw
        numel = len(raw) // DTYPE_SIZE[dtype]
        stride, acc = [], 1
        for d in reversed(shape):
            stride.insert(0, acc)
            acc *= d
        full = name if name.startswith("mm_projector.") else "mm_projector." + name
        model.append((s(full), tensor(STORAGE[dtype], key, numel, 0, shape, stride)))
    body = dict_of([(s("model"), dict_of(model)),
                    (s("optimizer"), dict_of([(s("state"), dict_of([])), (s("param_groups"), dict_of([]))])),
                    (s("config"), dict_of([(s("name"), s("thinkdiff"))])),
                    (s("scaler"), dict_of([(s("_growth_tracker"), i(0))])),
                    (s("epoch"), i(5))])
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    write_pth(dest, pickle_of(body), storages, prefix="archive")


def thinkdiff(out, demo):
    r = Repo(out, "Mifucius/ThinkDiff")
    for kind in ("lvlm", "clip"):
        rel = f"release/thinkdiff_{kind}.pth"
        training_checkpoint(os.path.join(demo, f"thinkdiff-{kind}", f"thinkdiff_{kind}.safetensors"), r.path(rel))
        r.written(rel)
    r.text("README.md", "# ThinkDiff\n")
    return r


def taef1(out):
    """diffusers' AutoencoderTiny with TAEF1's shapes (16 latent channels), small random values."""
    r = Repo(out, "madebyollin/taef1")
    rng = random.Random(1)
    tensors = {}

    def conv(name, cout, cin, k=3, bias=True):
        scale = 0.5 / (cin * k * k) ** 0.5
        w = [rng.uniform(-scale, scale) for _ in range(cout * cin * k * k)]
        tensors[name + ".weight"] = ("F32", [cout, cin, k, k], struct.pack(f"<{len(w)}f", *w))
        if bias:
            tensors[name + ".bias"] = ("F32", [cout], struct.pack(f"<{cout}f", *([0.01] * cout)))

    def block(name):
        for j in (0, 2, 4):
            conv(f"{name}.conv.{j}", 64, 64)

    enc = "encoder.layers."
    conv(enc + "0", 64, 3)
    for index in range(1, 14):
        if index in (2, 6, 10):
            conv(enc + str(index), 64, 64, bias=False)
        else:
            block(enc + str(index))
    conv(enc + "14", 16, 64)
    dec = "decoder.layers."
    conv(dec + "0", 64, 16)
    for index in (2, 3, 4, 7, 8, 9, 12, 13, 14, 17):
        block(dec + str(index))
    for index in (6, 11, 16):
        conv(dec + str(index), 64, 64, bias=False)
    conv(dec + "18", 3, 64)
    write_st(r.path("diffusion_pytorch_model.safetensors"), tensors)
    r.written("diffusion_pytorch_model.safetensors", 9854908)
    r.text("config.json", json.dumps({"_class_name": "AutoencoderTiny", "latent_channels": 16,
                                      "encoder_block_out_channels": [64, 64, 64, 64],
                                      "decoder_block_out_channels": [64, 64, 64, 64]}) + "\n")
    r.text("README.md", "# TAEF1\n")
    return r


def main(demo, tok, out):
    repos = [flux(out, demo, tok, "FLUX.1-dev", "flux1-dev.safetensors"),
             flux(out, demo, tok, "FLUX.1-schnell", "flux1-schnell.safetensors"),
             qwen2_vl(out, demo, tok), blip2(out, demo), thinkdiff(out, demo), taef1(out)]
    with open(os.path.join(out, "listing.json"), "w") as f:
        json.dump({r.repo: r.listing() for r in repos}, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
