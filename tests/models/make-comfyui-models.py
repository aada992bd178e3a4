#!/usr/bin/env python3
"""Lays FLUX out as ComfyUI users have it, from the demo models (`thinkdiff
make-demo-models`), next to a diffusers folder holding the same weights:

    make-comfyui-models.py DEMO_MODELS OUT

OUT/reference/  the demo flux-dev folder with a VAE of GroupNorm(32) (BFL's
                autoencoder fixes 32 groups) and CLIP's heads 64 wide (as CLIP-L)
OUT/models/     vae/ae.safetensors (BFL's key names, written here independently of
                the engine's mapping), text_encoders/clip_l.safetensors (text_model.*)
                and text_encoders/t5xxl_fp16.safetensors (encoder.*, shared.weight).
The transformer's single file (BFL names) is written by the test with the engine's
safetensors writer. Standard library only."""
import importlib.util
import json
import os
import random
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("real_repos", os.path.join(HERE, "..", "net", "make-real-repos.py"))
real_repos = importlib.util.module_from_spec(spec)
spec.loader.exec_module(real_repos)
read_st, write_st = real_repos.read_st, real_repos.write_st

BLOCKS = [32, 64]   # block_out_channels: two levels, 32-group norms, one resnet with a shortcut each way
LATENT = 16


class Vae:
    """The same random tensors under diffusers' and BFL's names."""

    def __init__(self):
        self.rng = random.Random(5)
        self.diffusers, self.bfl = {}, {}

    def values(self, n, scale, offset=0.0):
        return struct.pack(f"<{n}f", *[offset + self.rng.uniform(-scale, scale) for _ in range(n)])

    def add(self, d_name, b_name, shape, raw, bfl_shape=None):
        self.diffusers[d_name] = ("F32", shape, raw)
        self.bfl[b_name] = ("F32", bfl_shape or shape, raw)

    def conv(self, d, b, cout, cin, k=3):
        n = cout * cin * k * k
        self.add(d + ".weight", b + ".weight", [cout, cin, k, k], self.values(n, 1.0 / (cin * k * k) ** 0.5))
        self.add(d + ".bias", b + ".bias", [cout], self.values(cout, 0.05))

    def norm(self, d, b, c):
        self.add(d + ".weight", b + ".weight", [c], self.values(c, 0.1, 1.0))
        self.add(d + ".bias", b + ".bias", [c], self.values(c, 0.05))

    def resnet(self, d, b, cin, cout):
        self.norm(d + ".norm1", b + ".norm1", cin)
        self.conv(d + ".conv1", b + ".conv1", cout, cin)
        self.norm(d + ".norm2", b + ".norm2", cout)
        self.conv(d + ".conv2", b + ".conv2", cout, cout)
        if cin != cout:
            self.conv(d + ".conv_shortcut", b + ".nin_shortcut", cout, cin, 1)

    def attention(self, d, b, c):
        self.norm(d + ".group_norm", b + ".norm", c)
        for dn, bn in (("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")):
            # diffusers: a linear [C, C]; BFL: a 1×1 conv [C, C, 1, 1] with the same values.
            self.add(f"{d}.{dn}.weight", f"{b}.{bn}.weight", [c, c], self.values(c * c, 1.0 / c ** 0.5), [c, c, 1, 1])
            self.add(f"{d}.{dn}.bias", f"{b}.{bn}.bias", [c], self.values(c, 0.05))

    def mid(self, part, c):
        self.resnet(f"{part}.mid_block.resnets.0", f"{part}.mid.block_1", c, c)
        self.attention(f"{part}.mid_block.attentions.0", f"{part}.mid.attn_1", c)
        self.resnet(f"{part}.mid_block.resnets.1", f"{part}.mid.block_2", c, c)

    def build(self):
        levels = len(BLOCKS)
        self.conv("encoder.conv_in", "encoder.conv_in", BLOCKS[0], 3)
        cin = BLOCKS[0]
        for i, cout in enumerate(BLOCKS):
            self.resnet(f"encoder.down_blocks.{i}.resnets.0", f"encoder.down.{i}.block.0", cin, cout)
            if i != levels - 1:
                self.conv(f"encoder.down_blocks.{i}.downsamplers.0.conv", f"encoder.down.{i}.downsample.conv", cout, cout)
            cin = cout
        self.mid("encoder", BLOCKS[-1])
        self.norm("encoder.conv_norm_out", "encoder.norm_out", BLOCKS[-1])
        self.conv("encoder.conv_out", "encoder.conv_out", 2 * LATENT, BLOCKS[-1])

        self.conv("decoder.conv_in", "decoder.conv_in", BLOCKS[-1], LATENT)
        self.mid("decoder", BLOCKS[-1])
        cin = BLOCKS[-1]
        for k in range(levels):          # diffusers up_blocks.k is BFL's up.(levels - 1 - k)
            level = levels - 1 - k
            cout = BLOCKS[level]
            for j in range(2):           # layers_per_block + 1
                self.resnet(f"decoder.up_blocks.{k}.resnets.{j}", f"decoder.up.{level}.block.{j}", cin if j == 0 else cout,
                            cout)
            if level != 0:
                self.conv(f"decoder.up_blocks.{k}.upsamplers.0.conv", f"decoder.up.{level}.upsample.conv", cout, cout)
            cin = cout
        self.norm("decoder.conv_norm_out", "decoder.norm_out", BLOCKS[0])
        self.conv("decoder.conv_out", "decoder.conv_out", 3, BLOCKS[0])


def main(demo, out):
    reference = os.path.join(out, "reference")
    models = os.path.join(out, "models")
    shutil.copytree(os.path.join(demo, "flux-dev"), reference)
    vae = Vae()
    vae.build()
    write_st(os.path.join(reference, "vae", "diffusion_pytorch_model.safetensors"), vae.diffusers)
    with open(os.path.join(reference, "vae", "config.json"), "w") as f:
        json.dump({"_class_name": "AutoencoderKL", "block_out_channels": BLOCKS, "in_channels": 3, "out_channels": 3,
                   "latent_channels": LATENT, "layers_per_block": 1, "norm_num_groups": 32, "scaling_factor": 0.3611,
                   "shift_factor": 0.1159, "use_quant_conv": False, "use_post_quant_conv": False,
                   "mid_block_add_attention": True}, f)
    clip_config = os.path.join(reference, "text_encoder", "config.json")
    with open(clip_config) as f:
        config = json.load(f)
    config["num_attention_heads"] = config["hidden_size"] // 64
    with open(clip_config, "w") as f:
        json.dump(config, f)
    write_st(os.path.join(models, "vae", "ae.safetensors"), vae.bfl)
    os.makedirs(os.path.join(models, "text_encoders"))
    shutil.copyfile(os.path.join(reference, "text_encoder", "model.safetensors"),
                    os.path.join(models, "text_encoders", "clip_l.safetensors"))
    shutil.copyfile(os.path.join(reference, "text_encoder_2", "model.safetensors"),
                    os.path.join(models, "text_encoders", "t5xxl_fp16.safetensors"))
    os.makedirs(os.path.join(models, "diffusion_models"))


if __name__ == "__main__":
    main(*sys.argv[1:3])
