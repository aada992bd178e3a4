#!/usr/bin/env python3
"""Writes the golden models as community GGUF files name them, for
test-community-gguf:

    make-community-ggufs.py GOLDEN OUT

The renaming tables below are written from llama.cpp's tensor naming (gguf-py
constants and tensor_mapping, the T5 and Qwen2-VL converters) and from Black
Forest Labs' FLUX checkpoint layout, independently of the engine's loaders.
GGUF v3 is written by hand; tensors are F32, F16 or Q8_0 (ggml's block of an f16
scale and 32 int8). Standard library only.

OUT/t5/                 t5-v1_1-xxl-encoder-f32.gguf (arch t5encoder), no config.json
OUT/t5-f16/             the same with 2-D weights in F16
OUT/t5-q8/              the same with 2-D weights in Q8_0 (token_embd too, as in Q8_0 files)
OUT/t5-missing/         enc.blk.1.ffn_down.weight left out
OUT/t5-unknown/         an extra enc.blk.0.attn_x.weight
OUT/t5-whole/           arch "t5" with (stand-in) decoder tensors
OUT/t5-bad/NAME/        bad hyperparameters (T5_BAD_METADATA)
OUT/flux/transformer/   flux1-dev-F32.gguf, BFL names
OUT/flux-q8/transformer/  flux1-dev-Q8_0.gguf, BFL names under model.diffusion_model.
OUT/flux-unknown/transformer/  BFL names plus a stray tensor
OUT/comfyui/            diffusion_models/flux1-dev-Q8_0.gguf, text_encoders/t5-v1_1-xxl-encoder-f32.gguf
OUT/qwen2_vl/           config.json, the aligner, Qwen2-VL-Golden-F32.gguf and
                        mmproj-Qwen2-VL-Golden-f32.gguf
OUT/qwen2_vl-q8/        the same with 2-D weights in Q8_0
OUT/qwen2_vl-missing/   the mmproj without v.blk.1.ln2.bias
OUT/qwen2_vl-unknown/   the language model with an extra blk.0.attn_x.weight
OUT/qwen2_vl-no-mmproj/ the language model's GGUF alone
OUT/qwen2_vl-choice/    a folder to choose in: the safetensors checkpoint with config.json
                        and the aligner; Qwen2-VL-Golden-Q8_0.gguf with
                        mmproj-Qwen2-VL-Golden-f32.gguf; Qwen2-VL-Broken-F32.gguf with
                        mmproj-Qwen2-VL-Broken-f32.gguf (without v.blk.1.ln2.bias); and
                        Qwen2-VL-Lonely-Q8_0.gguf, whose mmproj is not there
"""
import json
import os
import shutil
import struct
import sys

F32, F16, Q8_0 = 0, 1, 8
GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY = 4, 5, 6, 7, 8, 9


def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (path, name, info["dtype"])
        b, e = info["data_offsets"]
        count = (e - b) // 4
        out[name] = (info["shape"], list(struct.unpack(f"<{count}f", data[b:e])))
    return out


def gguf_string(s):
    raw = s.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_value(kind, value):
    if kind == GGUF_STRING:
        return gguf_string(value)
    if kind == GGUF_U32:
        return struct.pack("<I", value)
    if kind == GGUF_I32:
        return struct.pack("<i", value)
    if kind == GGUF_F32:
        return struct.pack("<f", value)
    if kind == GGUF_BOOL:
        return struct.pack("<B", 1 if value else 0)
    raise ValueError(kind)


def encode(ggml_type, values):
    if ggml_type == F32:
        return struct.pack(f"<{len(values)}f", *values)
    if ggml_type == F16:
        return struct.pack(f"<{len(values)}e", *values)
    assert ggml_type == Q8_0 and len(values) % 32 == 0
    out = bytearray()
    for b in range(0, len(values), 32):
        block = values[b:b + 32]
        d = max(abs(v) for v in block) / 127.0
        inv = 1.0 / d if d else 0.0
        out += struct.pack("<e", d)
        out += struct.pack("<32b", *[max(-127, min(127, int(round(v * inv)))) for v in block])
    return bytes(out)


def write_gguf(path, metadata, tensors, alignment=32):
    """metadata: [(key, kind, value)], an array's value being (item kind, [items]);
    tensors: [(name, ggml_type, row-major shape, f32 values)]."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, kind, value in metadata:
        head += gguf_string(key) + struct.pack("<I", kind)
        if kind == GGUF_ARRAY:
            item_kind, items = value
            head += struct.pack("<IQ", item_kind, len(items)) + b"".join(gguf_value(item_kind, v) for v in items)
        else:
            head += gguf_value(kind, value)
    blobs, offset = [], 0
    for name, ggml_type, shape, values in tensors:
        raw = encode(ggml_type, values)
        head += gguf_string(name) + struct.pack("<I", len(shape))
        head += b"".join(struct.pack("<Q", d) for d in reversed(shape))
        head += struct.pack("<IQ", ggml_type, offset)
        raw += b"\0" * (-len(raw) % alignment)
        blobs.append(raw)
        offset += len(raw)
    head += b"\0" * (-len(head) % alignment)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(head + b"".join(blobs))


def weight_type(shape, wide):
    """Converters keep 1-D tensors (norms, biases) in F32, and a block type needs
    rows of whole 32-value blocks."""
    if len(shape) < 2 or (wide == Q8_0 and shape[-1] % 32 != 0):
        return F32
    return wide


def stray(names):
    return [(name, F32, [4], [0.0] * 4) for name in names]


# ---- T5 encoder, llama.cpp "t5encoder" ------------------------------------

T5_BLOCK = {
    "layer.0.SelfAttention.q": "attn_q",
    "layer.0.SelfAttention.k": "attn_k",
    "layer.0.SelfAttention.v": "attn_v",
    "layer.0.SelfAttention.o": "attn_o",
    "layer.0.SelfAttention.relative_attention_bias": "attn_rel_b",
    "layer.0.layer_norm": "attn_norm",
    "layer.1.DenseReluDense.wi_0": "ffn_gate",
    "layer.1.DenseReluDense.wi_1": "ffn_up",
    "layer.1.DenseReluDense.wo": "ffn_down",
    "layer.1.layer_norm": "ffn_norm",
}


def t5_name(name):
    if name == "shared.weight":
        return "token_embd.weight"
    if name == "encoder.embed_tokens.weight":
        return None  # the converter writes the shared table once
    if name == "encoder.final_layer_norm.weight":
        return "enc.output_norm.weight"
    parts = name.split(".")
    assert parts[0] == "encoder" and parts[1] == "block", name
    module = ".".join(parts[3:-1])
    return f"enc.blk.{parts[2]}.{T5_BLOCK[module]}.{parts[-1]}"


# Each refused with the key named: (kind, value) replaces the pair, None drops it.
T5_BAD_METADATA = {
    "no-block-count": {"t5encoder.block_count": None},
    "zero-heads": {"t5encoder.attention.head_count": (GGUF_U32, 0)},
    "odd-buckets": {"t5encoder.attention.relative_buckets_count": (GGUF_U32, 31)},
    "huge-width": {"t5encoder.embedding_length": (GGUF_U32, 1 << 30)},
    "string-key-length": {"t5encoder.attention.key_length": (GGUF_STRING, "16")},
    "negative-eps": {"t5encoder.attention.layer_norm_rms_epsilon": (GGUF_F32, -1.0)},
    "wrong-arch": {"general.architecture": (GGUF_STRING, "llama")},
}


def write_t5(golden, out, wide=F32, drop=(), extra=(), metadata_changes=None, arch="t5encoder"):
    config = json.load(open(os.path.join(golden, "t5_encoder", "config.json")))
    tensors = []
    for name, (shape, values) in sorted(read_st(os.path.join(golden, "t5_encoder", "model.safetensors")).items()):
        new = t5_name(name)
        if new is not None and new not in drop:
            tensors.append((new, weight_type(shape, wide), shape, values))
    tensors += stray(extra)
    metadata = [
        ("general.architecture", GGUF_STRING, arch),
        (f"{arch}.context_length", GGUF_U32, 512),
        (f"{arch}.embedding_length", GGUF_U32, config["d_model"]),
        (f"{arch}.feed_forward_length", GGUF_U32, config["d_ff"]),
        (f"{arch}.block_count", GGUF_U32, config["num_layers"]),
        (f"{arch}.attention.head_count", GGUF_U32, config["num_heads"]),
        (f"{arch}.attention.key_length", GGUF_U32, config["d_kv"]),
        (f"{arch}.attention.value_length", GGUF_U32, config["d_kv"]),
        (f"{arch}.attention.layer_norm_epsilon", GGUF_F32, config["layer_norm_epsilon"]),
        (f"{arch}.attention.relative_buckets_count", GGUF_U32, config["relative_attention_num_buckets"]),
        (f"{arch}.attention.layer_norm_rms_epsilon", GGUF_F32, config["layer_norm_epsilon"]),
    ]
    for key, value in (metadata_changes or {}).items():
        metadata = [m for m in metadata if m[0] != key]
        if value is not None:
            metadata.append((key,) + value)
    suffix = {F32: "f32", F16: "f16", Q8_0: "Q8_0"}[wide]
    write_gguf(os.path.join(out, f"t5-v1_1-xxl-encoder-{suffix}.gguf"), metadata, tensors)


# ---- FLUX transformer, Black Forest Labs names ------------------------------

DOUBLE = {  # BFL module: the diffusers modules stacked in its rows
    "img_attn.qkv": ["attn.to_q", "attn.to_k", "attn.to_v"],
    "img_attn.proj": ["attn.to_out.0"],
    "img_mlp.0": ["ff.net.0.proj"],
    "img_mlp.2": ["ff.net.2"],
    "img_mod.lin": ["norm1.linear"],
    "txt_attn.qkv": ["attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"],
    "txt_attn.proj": ["attn.to_add_out"],
    "txt_mlp.0": ["ff_context.net.0.proj"],
    "txt_mlp.2": ["ff_context.net.2"],
    "txt_mod.lin": ["norm1_context.linear"],
}
DOUBLE_NORMS = {
    "img_attn.norm.query_norm": "attn.norm_q",
    "img_attn.norm.key_norm": "attn.norm_k",
    "txt_attn.norm.query_norm": "attn.norm_added_q",
    "txt_attn.norm.key_norm": "attn.norm_added_k",
}
SINGLE = {
    "linear1": ["attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp"],
    "linear2": ["proj_out"],
    "modulation.lin": ["norm.linear"],
}
SINGLE_NORMS = {"norm.query_norm": "attn.norm_q", "norm.key_norm": "attn.norm_k"}
TOP = {
    "img_in": "x_embedder",
    "txt_in": "context_embedder",
    "time_in.in_layer": "time_text_embed.timestep_embedder.linear_1",
    "time_in.out_layer": "time_text_embed.timestep_embedder.linear_2",
    "guidance_in.in_layer": "time_text_embed.guidance_embedder.linear_1",
    "guidance_in.out_layer": "time_text_embed.guidance_embedder.linear_2",
    "vector_in.in_layer": "time_text_embed.text_embedder.linear_1",
    "vector_in.out_layer": "time_text_embed.text_embedder.linear_2",
    "final_layer.linear": "proj_out",
}


def stack(st, names, suffix):
    shape, values = None, []
    for name in names:
        s, v = st[f"{name}.{suffix}"]
        shape = [s[0] + (shape[0] if shape else 0)] + s[1:]
        values += v
    return shape, values


def flux_tensors(st, n_double, n_single):
    out = []  # (BFL name, shape, values)
    for b in range(n_double):
        for bfl, parts in DOUBLE.items():
            for suffix in ("weight", "bias"):
                shape, values = stack(st, [f"transformer_blocks.{b}.{p}" for p in parts], suffix)
                out.append((f"double_blocks.{b}.{bfl}.{suffix}", shape, values))
        for bfl, d in DOUBLE_NORMS.items():
            out.append((f"double_blocks.{b}.{bfl}.scale",) + tuple(st[f"transformer_blocks.{b}.{d}.weight"]))
    for b in range(n_single):
        for bfl, parts in SINGLE.items():
            for suffix in ("weight", "bias"):
                shape, values = stack(st, [f"single_transformer_blocks.{b}.{p}" for p in parts], suffix)
                out.append((f"single_blocks.{b}.{bfl}.{suffix}", shape, values))
        for bfl, d in SINGLE_NORMS.items():
            out.append((f"single_blocks.{b}.{bfl}.scale",) + tuple(st[f"single_transformer_blocks.{b}.{d}.weight"]))
    for bfl, d in TOP.items():
        for suffix in ("weight", "bias"):
            out.append((f"{bfl}.{suffix}",) + tuple(st[f"{d}.{suffix}"]))
    # diffusers' final AdaLayerNormContinuous reads (scale, shift); BFL's final layer (shift, scale).
    for suffix in ("weight", "bias"):
        shape, values = st[f"norm_out.linear.{suffix}"]
        half = len(values) // 2
        out.append((f"final_layer.adaLN_modulation.1.{suffix}", shape, values[half:] + values[:half]))
    return out


def write_flux(golden, out, file_name, wide=F32, prefix="", extra=(), folder="transformer"):
    config = json.load(open(os.path.join(golden, "flux", "transformer", "config.json")))
    st = read_st(os.path.join(golden, "flux", "transformer", "diffusion_pytorch_model.safetensors"))
    tensors = [(prefix + name, weight_type(shape, wide), shape, values)
               for name, shape, values in flux_tensors(st, config["num_layers"], config["num_single_layers"])]
    tensors += stray(extra)
    # The tiny model splits its heads 4 + 6 + 6, which its sizes alone do not tell.
    axes = ",".join(str(a) for a in config["axes_dims_rope"])
    metadata = [("general.architecture", GGUF_STRING, "flux"), ("axes_dims_rope", GGUF_STRING, axes)]
    write_gguf(os.path.join(out, folder, file_name), metadata, tensors)


# ---- Qwen2-VL, llama.cpp "qwen2vl" and its mmproj ("clip") -------------------

QWEN_LLM_BLOCK = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}
QWEN_LLM_TOP = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"}
QWEN_VISION_BLOCK = {
    "attn.proj": "attn_out",
    "norm1": "ln1",
    "norm2": "ln2",
    "mlp.fc1": "ffn_up",
    "mlp.fc2": "ffn_down",
}
QWEN_VISION_TOP = {"visual.merger.ln_q": "v.post_ln", "visual.merger.mlp.0": "mm.0", "visual.merger.mlp.2": "mm.2"}


def qwen_split(golden_st):
    llm, vision = [], []
    for name, (shape, values) in sorted(golden_st.items()):
        module, suffix = name.rsplit(".", 1)
        if module in QWEN_LLM_TOP:
            llm.append((f"{QWEN_LLM_TOP[module]}.{suffix}", shape, values))
        elif module.startswith("model.layers."):
            b, rest = module[len("model.layers."):].split(".", 1)
            llm.append((f"blk.{b}.{QWEN_LLM_BLOCK[rest]}.{suffix}", shape, values))
        elif module in QWEN_VISION_TOP:
            vision.append((f"{QWEN_VISION_TOP[module]}.{suffix}", shape, values))
        elif module == "visual.patch_embed.proj":
            # Conv3d [embed, channels, 2, p, p] → two Conv2d kernels, one per frame.
            e, c, t, p, q = shape
            plane = p * q
            frames = [[], []]
            for i in range(e * c):
                for k in range(t):
                    frames[k] += values[(i * t + k) * plane:(i * t + k + 1) * plane]
            vision.append(("v.patch_embd.weight", [e, c, p, q], frames[0]))
            vision.append(("v.patch_embd.weight.1", [e, c, p, q], frames[1]))
        elif module.startswith("visual.blocks."):
            b, rest = module[len("visual.blocks."):].split(".", 1)
            if rest == "attn.qkv":
                rows = shape[0] // 3
                width = len(values) // shape[0]
                for k, part in enumerate("qkv"):
                    vision.append((f"v.blk.{b}.attn_{part}.{suffix}", [rows] + shape[1:],
                                   values[k * rows * width:(k + 1) * rows * width]))
            else:
                vision.append((f"v.blk.{b}.{QWEN_VISION_BLOCK[rest]}.{suffix}", shape, values))
        else:
            raise KeyError(name)
    return llm, vision


def write_qwen(golden, out, drop=(), llm_extra=(), with_mmproj=True, wide=F32, model="Qwen2-VL-Golden",
               llm_type="F32"):
    src = os.path.join(golden, "qwen2_vl")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(src):
        if name not in ("model.safetensors", "io.safetensors", "meta.json"):
            shutil.copy(os.path.join(src, name), out)
    config = json.load(open(os.path.join(src, "config.json")))
    text, vision_config = config["text_config"], config["vision_config"]
    llm, vision = qwen_split(read_st(os.path.join(src, "model.safetensors")))
    sections = config["rope_parameters"]["mrope_section"] + [0]
    write_gguf(os.path.join(out, f"{model}-{llm_type}.gguf"), [
        ("general.architecture", GGUF_STRING, "qwen2vl"),
        ("qwen2vl.block_count", GGUF_U32, text["num_hidden_layers"]),
        ("qwen2vl.context_length", GGUF_U32, text["max_position_embeddings"]),
        ("qwen2vl.embedding_length", GGUF_U32, text["hidden_size"]),
        ("qwen2vl.feed_forward_length", GGUF_U32, text["intermediate_size"]),
        ("qwen2vl.attention.head_count", GGUF_U32, text["num_attention_heads"]),
        ("qwen2vl.attention.head_count_kv", GGUF_U32, text["num_key_value_heads"]),
        ("qwen2vl.rope.freq_base", GGUF_F32, config["rope_parameters"]["rope_theta"]),
        ("qwen2vl.attention.layer_norm_rms_epsilon", GGUF_F32, text["rms_norm_eps"]),
        ("qwen2vl.rope.dimension_sections", GGUF_ARRAY, (GGUF_I32, sections)),
    ], [(n, weight_type(s, wide), s, v) for n, s, v in llm if n not in drop] + stray(llm_extra))
    if not with_mmproj:
        return
    write_gguf(os.path.join(out, f"mmproj-{model}-f32.gguf"), [
        ("general.architecture", GGUF_STRING, "clip"),
        ("clip.has_vision_encoder", GGUF_BOOL, True),
        ("clip.projector_type", GGUF_STRING, "qwen2vl_merger"),
        ("clip.vision.image_size", GGUF_U32, 560),
        ("clip.vision.patch_size", GGUF_U32, vision_config["patch_size"]),
        ("clip.vision.embedding_length", GGUF_U32, vision_config["embed_dim"]),
        ("clip.vision.feed_forward_length", GGUF_U32, vision_config["embed_dim"] * vision_config["mlp_ratio"]),
        ("clip.vision.projection_dim", GGUF_U32, vision_config["hidden_size"]),
        ("clip.vision.block_count", GGUF_U32, vision_config["depth"]),
        ("clip.vision.attention.head_count", GGUF_U32, vision_config["num_heads"]),
        ("clip.vision.attention.layer_norm_epsilon", GGUF_F32, 1e-6),
    ], [(n, weight_type(s, wide), s, v) for n, s, v in vision if n not in drop])


def main():
    golden, out = sys.argv[1], sys.argv[2]
    write_t5(golden, os.path.join(out, "t5"))
    write_t5(golden, os.path.join(out, "t5-f16"), wide=F16)
    write_t5(golden, os.path.join(out, "t5-q8"), wide=Q8_0)
    write_t5(golden, os.path.join(out, "t5-missing"), drop={"enc.blk.1.ffn_down.weight"})
    write_t5(golden, os.path.join(out, "t5-unknown"), extra=["enc.blk.0.attn_x.weight"])
    # A whole T5 ("t5"): the decoder's tensors are there and left alone.
    write_t5(golden, os.path.join(out, "t5-whole"), arch="t5",
             extra=["dec.blk.0.attn_q.weight", "dec.output_norm.weight", "output.weight"])
    for name, changes in T5_BAD_METADATA.items():
        write_t5(golden, os.path.join(out, "t5-bad", name), metadata_changes=changes)
    write_flux(golden, os.path.join(out, "flux"), "flux1-dev-F32.gguf")
    write_flux(golden, os.path.join(out, "flux-q8"), "flux1-dev-Q8_0.gguf", wide=Q8_0,
               prefix="model.diffusion_model.")
    write_flux(golden, os.path.join(out, "flux-unknown"), "flux1-dev-F32.gguf",
               extra=["double_blocks.0.img_attn.extra.weight"])
    # ComfyUI's models/ folder with the GGUFs where the .safetensors would be.
    write_flux(golden, os.path.join(out, "comfyui"), "flux1-dev-Q8_0.gguf", wide=Q8_0, folder="diffusion_models")
    write_t5(golden, os.path.join(out, "comfyui", "text_encoders"))
    write_qwen(golden, os.path.join(out, "qwen2_vl"))
    write_qwen(golden, os.path.join(out, "qwen2_vl-q8"), wide=Q8_0)
    write_qwen(golden, os.path.join(out, "qwen2_vl-missing"), drop={"v.blk.1.ln2.bias"})
    write_qwen(golden, os.path.join(out, "qwen2_vl-unknown"), llm_extra=["blk.0.attn_x.weight"])
    write_qwen(golden, os.path.join(out, "qwen2_vl-no-mmproj"), with_mmproj=False)
    choice = os.path.join(out, "qwen2_vl-choice")
    write_qwen(golden, choice, wide=Q8_0, llm_type="Q8_0")
    write_qwen(golden, choice, model="Qwen2-VL-Broken", drop={"v.blk.1.ln2.bias"})
    write_qwen(golden, choice, model="Qwen2-VL-Lonely", wide=Q8_0, llm_type="Q8_0", with_mmproj=False)
    shutil.copy(os.path.join(golden, "qwen2_vl", "model.safetensors"), choice)


if __name__ == "__main__":
    main()
