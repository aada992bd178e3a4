#include "models/t5_gguf_keys.h"

#include <stdio.h>
#include <string.h>

#include "backend/op.h"

typedef struct {
  const char *transformers; /* after "encoder.block.N." */
  const char *llama_cpp;    /* after "enc.blk.N." */
} block_key;

static const block_key block_keys[] = {
  { "layer.0.SelfAttention.q.weight", "attn_q.weight" },
  { "layer.0.SelfAttention.k.weight", "attn_k.weight" },
  { "layer.0.SelfAttention.v.weight", "attn_v.weight" },
  { "layer.0.SelfAttention.o.weight", "attn_o.weight" },
  { "layer.0.SelfAttention.relative_attention_bias.weight", "attn_rel_b.weight" },
  { "layer.0.layer_norm.weight", "attn_norm.weight" },
  { "layer.1.DenseReluDense.wi_0.weight", "ffn_gate.weight" },
  { "layer.1.DenseReluDense.wi_1.weight", "ffn_up.weight" },
  { "layer.1.DenseReluDense.wi.weight", "ffn_up.weight" },
  { "layer.1.DenseReluDense.wo.weight", "ffn_down.weight" },
  { "layer.1.layer_norm.weight", "ffn_norm.weight" },
};

const char *const td_t5_gguf_decoder_prefixes[] = { "dec.", "output.", NULL };

bool
td_t5_gguf_rename (const char *name, char *stored, size_t size, void *user_data)
{
  (void) user_data;
  if (strcmp (name, "shared.weight") == 0 || strcmp (name, "encoder.embed_tokens.weight") == 0)
    return (size_t) snprintf (stored, size, "token_embd.weight") < size;
  if (strcmp (name, "encoder.final_layer_norm.weight") == 0)
    return (size_t) snprintf (stored, size, "enc.output_norm.weight") < size;
  unsigned block;
  int consumed = 0;
  if (sscanf (name, "encoder.block.%u.%n", &block, &consumed) != 1 || consumed == 0)
    return false;
  for (size_t i = 0; i < sizeof block_keys / sizeof block_keys[0]; i++)
    if (strcmp (name + consumed, block_keys[i].transformers) == 0)
      return (size_t) snprintf (stored, size, "enc.blk.%u.%s", block, block_keys[i].llama_cpp) < size;
  return false;
}

static const char *
architecture (const td_gguf *gguf)
{
  const td_gguf_kv *kv = td_gguf_find_kv (gguf, "general.architecture");
  if (kv == NULL || kv->type != TD_GGUF_STRING)
    return NULL;
  if (kv->length == 9 && memcmp (kv->data, "t5encoder", 9) == 0)
    return "t5encoder";
  if (kv->length == 2 && memcmp (kv->data, "t5", 2) == 0)
    return "t5";
  return NULL;
}

bool
td_t5_gguf_is_llama_cpp (const td_gguf *gguf)
{
  return td_gguf_find_tensor (gguf, "enc.blk.0.attn_q.weight") != NULL;
}

/* "ARCH.suffix" as an integer in [min, max]; `fallback` when absent and allowed. */
static td_status
hparam (const td_gguf *gguf, const char *arch, const char *suffix, bool required, long long fallback, long long min,
        long long max, long long *out, td_error *err)
{
  char key[128];
  snprintf (key, sizeof key, "%s.%s", arch, suffix);
  const td_gguf_kv *kv = td_gguf_find_kv (gguf, key);
  int64_t value;
  if (kv == NULL && !required)
    {
      *out = fallback;
      return TD_OK;
    }
  if (kv == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: no metadata '%s'", td_gguf_path (gguf), key);
  if (kv->type == TD_GGUF_ARRAY || kv->type == TD_GGUF_STRING || !td_gguf_kv_integer (kv, 0, &value)
      || value < min || value > max)
    return td_error_set (err, TD_ERR_FORMAT, "%s: metadata '%s' must be an integer in %lld..%lld",
                         td_gguf_path (gguf), key, min, max);
  *out = value;
  return TD_OK;
}

td_status
td_t5_gguf_config (const td_gguf *gguf, td_t5_config *c, td_error *err)
{
  const char *path = td_gguf_path (gguf);
  const char *arch = architecture (gguf);
  if (arch == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: general.architecture is not \"t5encoder\" or \"t5\"", path);
  const td_gguf_tensor_info *embd = td_gguf_find_tensor (gguf, "token_embd.weight");
  if (embd == NULL || embd->ndim != 2)
    return td_error_set (err, TD_ERR_FORMAT, "%s: no 2-D tensor 'token_embd.weight' (the vocabulary's embeddings)",
                         path);
  long long v[6];
  td_status st;
  if ((st = hparam (gguf, arch, "embedding_length", true, 0, 1, 1 << 16, &v[0], err))
      || (st = hparam (gguf, arch, "feed_forward_length", true, 0, 1, 1 << 18, &v[1], err))
      || (st = hparam (gguf, arch, "block_count", true, 0, 1, 1024, &v[2], err))
      || (st = hparam (gguf, arch, "attention.head_count", true, 0, 1, 1024, &v[3], err))
      || (st = hparam (gguf, arch, "attention.key_length", true, 0, 1, 1 << 12, &v[4], err))
      || (st = hparam (gguf, arch, "attention.relative_buckets_count", false, 32, 4, 4096, &v[5], err)))
    return st;
  if (v[5] % 2 != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: %s.attention.relative_buckets_count %lld is not even", path, arch,
                         v[5]);
  if (embd->shape[0] < 1 || embd->shape[0] > 1 << 24)
    return td_error_set (err, TD_ERR_FORMAT, "%s: token_embd.weight has %lld rows, not 1..2^24", path,
                         (long long) embd->shape[0]);
  double eps = 1e-6;
  char key[128];
  static const char *const eps_keys[] = { "attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon" };
  for (size_t i = 0; i < 2; i++)
    {
      snprintf (key, sizeof key, "%s.%s", arch, eps_keys[i]);
      const td_gguf_kv *kv = td_gguf_find_kv (gguf, key);
      if (kv == NULL)
        continue;
      if (kv->type == TD_GGUF_ARRAY || !td_gguf_kv_number (kv, 0, &eps) || !(eps >= 1e-30 && eps < 1.0))
        return td_error_set (err, TD_ERR_FORMAT, "%s: metadata '%s' must be a number in (0, 1)", path, key);
      break;
    }
  bool gated = td_gguf_find_tensor (gguf, "enc.blk.0.ffn_gate.weight") != NULL;
  *c = (td_t5_config) {
    .vocab_size = (int) embd->shape[0], .d_model = (int) v[0], .d_kv = (int) v[4], .d_ff = (int) v[1],
    .num_heads = (int) v[3], .num_layers = (int) v[2], .num_buckets = (int) v[5], .max_distance = 128,
    .eps = (float) eps, .gated = gated, .activation = gated ? TD_UNARY_GELU_TANH : TD_UNARY_RELU,
  };
  return TD_OK;
}
