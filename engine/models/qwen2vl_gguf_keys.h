/* qwen2vl_gguf_keys.h — Qwen2-VL as llama.cpp writes it: the language model's GGUF
 * (Qwen2-VL-7B-Instruct-Q4_K_M.gguf) and the mmproj GGUF holding the vision tower
 * and its merger (mmproj-Qwen2-VL-7B-Instruct-f16.gguf).
 *
 * Language model: token_embd, blk.N.attn_q/k/v (weights and biases), blk.N.attn_output,
 * blk.N.attn_norm, blk.N.ffn_gate/up/down, blk.N.ffn_norm, output_norm, output.
 * Vision: v.patch_embd.weight and v.patch_embd.weight.1 (the Conv3d kernel's two
 * temporal slices as 2-D kernels), v.blk.N.attn_q/k/v (the fused qkv cut in three),
 * v.blk.N.attn_out, v.blk.N.ln1/ln2, v.blk.N.ffn_up/down, v.post_ln (the merger's
 * norm), mm.0 and mm.2 (the merger's MLP). Neither file permutes q or k.
 *
 * What the GGUFs do not hold (the special tokens' ids, the vision tower's sizes in
 * transformers' terms) comes from the folder's config.json, which is required. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "models/qwen2vl.h"
#include "models/weights.h"

/* The two files as one td_weights answering transformers' names ("layers.0.self_attn.q_proj.weight",
 * "visual.blocks.0.attn.qkv.weight"); the fused qkv and the patch embedding are put
 * back together on the host. Checks both files' architecture metadata against the config. */
td_weights *td_qwen2vl_gguf_open (const char *llm, const char *mmproj, const td_qwen2vl_config *config,
                                  td_backend *backend, td_error *err);
/* The renames (td_weights_rename_fn) of each file. */
bool td_qwen2vl_gguf_rename_llm (const char *name, char *stored, size_t size, void *user_data);
bool td_qwen2vl_gguf_rename_vision (const char *name, char *stored, size_t size, void *user_data);
