/* api_quantize.c — td_quantize: a safetensors checkpoint to a GGUF file whose
 * matrices are in a ggml block type, with the metadata ggml-based tools read
 * and the tensor types ggml's converters choose (see thinkdiff-files.h). */
#include "thinkdiff.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant_encode.h"
#include "io/gguf.h"
#include "io/safetensors.h"

/* A tensor of fewer values is not worth a block type (ggml's converters keep them too). */
#define QUANTIZE_MIN_VALUES 1024

typedef struct quant_type {
  const char *name;
  td_dtype dtype;
  td_dtype fallback;   /* for rows that are not whole 256-blocks; the type itself for 32-blocks */
  uint32_t file_type;  /* llama.cpp's LLAMA_FTYPE_MOSTLY_* of a file all in this type */
} quant_type;

static const quant_type quant_types[] = {
  { "q8_0", TD_Q8_0, TD_Q8_0, 7 },  { "q4_0", TD_Q4_0, TD_Q4_0, 2 },  { "q4_1", TD_Q4_1, TD_Q4_1, 3 },
  { "q5_0", TD_Q5_0, TD_Q5_0, 8 },  { "q5_1", TD_Q5_1, TD_Q5_1, 9 },  { "q2_k", TD_Q2_K, TD_Q4_0, 10 },
  { "q3_k", TD_Q3_K, TD_Q4_0, 11 }, { "q4_k", TD_Q4_K, TD_Q5_0, 14 }, { "q5_k", TD_Q5_K, TD_Q5_1, 16 },
  { "q6_k", TD_Q6_K, TD_Q8_0, 18 },
};

static const quant_type *
find_type (const char *name)
{
  for (size_t i = 0; name != NULL && i < G_N_ELEMENTS (quant_types); i++)
    if (g_ascii_strcasecmp (name, quant_types[i].name) == 0)
      return &quant_types[i];
  return NULL;
}

bool
td_quantize_type_known (const char *type)
{
  return find_type (type) != NULL;
}

/* Lookup tables, not matmuls: token and position embeddings, T5's relative
 * position buckets. (FLUX's x_embedder and the like are linear layers.) */
static bool
is_lookup_table (const char *name)
{
  static const char *const fragments[] = { "embed_tokens", "tok_embed", "token_embd", "embedding", "shared.weight",
                                           "wte.", "wpe.", "relative_attention_bias", "pos_embed" };
  for (size_t i = 0; i < G_N_ELEMENTS (fragments); i++)
    if (strstr (name, fragments[i]) != NULL)
      return true;
  return false;
}

/* A norm's own parameters: "norm" in the module name right before the
 * parameter ("…layernorm.weight", "norm_q.weight"; not "norm1.linear.weight"). */
static bool
is_norm (const char *name)
{
  const char *param = strrchr (name, '.');
  if (param == NULL)
    return strstr (name, "norm") != NULL;
  const char *module = param;
  while (module > name && module[-1] != '.')
    module--;
  return g_strstr_len (module, param - module, "norm") != NULL || g_strstr_len (module, param - module, "ln_") != NULL;
}

/* How a tensor is written: its GGUF shape (more than 4 dims folded into 2) and type. */
typedef struct plan {
  int ndim;
  int64_t shape[TD_GGUF_MAX_DIMS];
  td_dtype dtype;
  bool quantized, fallback;
} plan;

static td_dtype
kept_type (const td_safetensors_info *t)
{
  if (t->ndim == 1 && td_dtype_is_float (t->dtype))
    return TD_F32;
  switch (t->dtype)
    {
    case TD_F32: case TD_F16: case TD_BF16: return t->dtype;
    case TD_F8_E4M3: case TD_F8_E5M2: return TD_F16; /* exact: fp8 values are f16 values */
    case TD_F64: return TD_F32;
    default: return td_gguf_ggml_type_of (t->dtype) >= 0 ? t->dtype : TD_F32;
    }
}

static plan
plan_tensor (const td_safetensors_info *t, const quant_type *q)
{
  plan p = { .ndim = t->ndim, .dtype = kept_type (t) };
  int64_t numel = 1;
  for (int d = 0; d < t->ndim; d++)
    numel *= t->shape[d];
  if (t->ndim > TD_GGUF_MAX_DIMS)
    {
      p.ndim = 2;
      p.shape[0] = t->shape[0];
      p.shape[1] = t->shape[0] > 0 ? numel / t->shape[0] : 0;
    }
  else
    memcpy (p.shape, t->shape, (size_t) t->ndim * sizeof *t->shape);
  bool matrix = t->ndim == 2 && td_dtype_is_float (t->dtype) && numel >= QUANTIZE_MIN_VALUES
                && !g_str_has_suffix (t->name, ".bias") && !is_norm (t->name) && !is_lookup_table (t->name);
  if (!matrix)
    return p;
  int64_t row = t->shape[1];
  if (row % td_dtype_block_elems (q->dtype) == 0)
    {
      p.dtype = q->dtype;
      p.quantized = true;
    }
  else if (row % td_dtype_block_elems (q->fallback) == 0)
    {
      p.dtype = q->fallback;
      p.fallback = true;
    }
  return p;
}

/* general.architecture as ggml-based tools name it, from the tensor names. */
static const char *
detect_architecture (td_safetensors *st)
{
  static const struct {
    const char *fragment;
    const char *architecture;
  } signs[] = {
    { "single_transformer_blocks.", "flux" }, { "double_blocks.", "flux" },   { "visual.merger.", "qwen2vl" },
    { "encoder.block.", "t5encoder" },        { "text_model.encoder.", "clip" }, { "vision_model.encoder.", "clip" },
    { "decoder.up_blocks.", "vae" },          { "model.layers.", "llama" },
  };
  for (size_t s = 0; s < G_N_ELEMENTS (signs); s++)
    for (size_t i = 0; i < td_safetensors_count (st); i++)
      if (strstr (td_safetensors_at (st, i)->name, signs[s].fragment) != NULL)
        return signs[s].architecture;
  return "unknown";
}

/* general.name by default: the file's name without its extension, or the
 * folder's when the file has a generic name (model, diffusion_pytorch_model). */
static char *
default_name (const char *in)
{
  g_autofree char *path = g_canonicalize_filename (in, NULL);
  g_autofree char *base = g_path_get_basename (path);
  char *dot = g_file_test (path, G_FILE_TEST_IS_DIR) ? NULL : strchr (base, '.');
  if (dot != NULL && dot != base)
    *dot = '\0';
  if (strcmp (base, "model") != 0 && strcmp (base, "diffusion_pytorch_model") != 0)
    return g_steal_pointer (&base);
  g_autofree char *dir = g_path_get_dirname (path);
  return g_path_get_basename (dir);
}

/* ComfyUI's scaled fp8 files keep W/s in fp8 and s as PREFIX.scale_weight. */
static const td_safetensors_info *
fp8_scale_of (td_safetensors *st, const td_safetensors_info *t)
{
  if ((t->dtype != TD_F8_E4M3 && t->dtype != TD_F8_E5M2) || !g_str_has_suffix (t->name, ".weight"))
    return NULL;
  g_autofree char *prefix = g_strndup (t->name, strlen (t->name) - strlen (".weight"));
  g_autofree char *name = g_strconcat (prefix, ".scale_weight", NULL);
  return td_safetensors_find (st, name);
}

/* A scale whose weight is written with the scale applied. */
static bool
is_applied_scale (td_safetensors *st, const td_safetensors_info *t)
{
  if (!g_str_has_suffix (t->name, ".scale_weight"))
    return false;
  g_autofree char *prefix = g_strndup (t->name, strlen (t->name) - strlen (".scale_weight"));
  g_autofree char *name = g_strconcat (prefix, ".weight", NULL);
  const td_safetensors_info *w = td_safetensors_find (st, name);
  return w != NULL && fp8_scale_of (st, w) == t;
}

static float *
read_values (td_safetensors *st, const td_safetensors_info *t, td_error *err)
{
  td_tensor *view = td_safetensors_tensor_of (st, t, err);
  float *values = view != NULL ? td_tensor_to_f32 (view, err) : NULL;
  td_tensor_free (view);
  const td_safetensors_info *scale_info = values != NULL ? fp8_scale_of (st, t) : NULL;
  if (scale_info == NULL)
    return values;
  td_tensor *scale_view = td_safetensors_tensor_of (st, scale_info, err);
  float *scale = scale_view != NULL ? td_tensor_to_f32 (scale_view, err) : NULL;
  bool one = scale_view != NULL && td_tensor_numel (scale_view) == 1;
  td_tensor_free (scale_view);
  if (scale == NULL || !one)
    {
      if (scale != NULL)
        td_error_set (err, TD_ERR_FORMAT, "%s: '%s' should be one float, the weight's scale", t->file,
                      scale_info->name);
      free (scale);
      free (values);
      return NULL;
    }
  int64_t numel = 1;
  for (int d = 0; d < t->ndim; d++)
    numel *= t->shape[d];
  for (int64_t i = 0; i < numel; i++)
    values[i] *= scale[0];
  free (scale);
  return values;
}

static td_status
write_tensor (td_gguf_writer *w, td_safetensors *st, const td_safetensors_info *t, const plan *p, uint64_t *written,
              td_error *err)
{
  int64_t numel = 1;
  for (int d = 0; d < p->ndim; d++)
    numel *= p->shape[d];
  size_t nbytes = 0;
  td_dtype_nbytes (p->dtype, numel, &nbytes);
  void *out = malloc (nbytes > 0 ? nbytes : 1);
  if (out == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory for '%s'", t->file, t->name);
  td_status status = TD_OK;
  if (p->dtype == t->dtype)
    memcpy (out, td_safetensors_data (st, t), nbytes); /* kept as stored: bit-exact */
  else
    {
      float *values = read_values (st, t, err);
      if (values == NULL)
        status = err->status;
      else if (td_dtype_is_quantized (p->dtype))
        td_quantize_row (out, values, p->dtype, (size_t) numel);
      else
        td_convert_from_f32 (out, p->dtype, values, (size_t) numel);
      free (values);
    }
  if (status == TD_OK)
    status = td_gguf_writer_write_data (w, out, nbytes, err);
  *written += nbytes;
  free (out);
  return status;
}

static td_status
quantize (const char *in, const char *out, const td_quantize_options *options, const quant_type *q,
          td_quantize_report *report, td_error *err)
{
  td_quantize_report r = { 0 };
  if (td_gguf_file_is_gguf (in))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: already a GGUF file; quantize reads safetensors checkpoints",
                         in);
  td_safetensors *st = td_safetensors_open_any (in, err);
  if (st == NULL)
    return err->status;
  td_gguf_writer *w = td_gguf_writer_new (out, err);
  if (w == NULL)
    {
      td_safetensors_close (st);
      return err->status;
    }
  g_autofree char *base = default_name (in);
  const char *architecture = options->architecture != NULL ? options->architecture : detect_architecture (st);
  g_strlcpy (r.architecture, architecture, sizeof r.architecture);
  td_gguf_writer_add_string (w, "general.architecture", architecture);
  td_gguf_writer_add_string (w, "general.name", options->name != NULL ? options->name : base);
  td_gguf_writer_add_u32 (w, "general.file_type", q->file_type);
  td_gguf_writer_add_u32 (w, "general.quantization_version", 2);
  td_gguf_writer_add_u32 (w, "general.alignment", TD_GGUF_DEFAULT_ALIGNMENT);

  size_t n = td_safetensors_count (st);
  plan *plans = g_new0 (plan, n > 0 ? n : 1);
  td_status status = TD_OK;
  for (size_t i = 0; i < n && status == TD_OK; i++)
    {
      const td_safetensors_info *t = td_safetensors_at (st, i);
      if (is_applied_scale (st, t))
        continue;
      plans[i] = plan_tensor (t, q);
      status = td_gguf_writer_add_tensor (w, t->name, plans[i].dtype, plans[i].ndim, plans[i].shape, err);
      r.n_tensors++;
      r.n_quantized += plans[i].quantized;
      r.n_fallback += plans[i].fallback;
    }
  size_t done = 0;
  for (size_t i = 0; i < n && status == TD_OK; i++)
    {
      const td_safetensors_info *t = td_safetensors_at (st, i);
      if (is_applied_scale (st, t))
        continue;
      if (options->cancel != NULL && *options->cancel)
        {
          status = td_error_set (err, TD_ERR_CANCELLED, "%s: cancelled; nothing was written", out);
          break;
        }
      if (options->progress != NULL)
        options->progress (done, r.n_tensors, t->name, options->user_data);
      r.bytes_in += t->nbytes;
      status = write_tensor (w, st, t, &plans[i], &r.bytes_out, err);
      done++;
    }
  if (status == TD_OK && options->progress != NULL)
    options->progress (done, r.n_tensors, NULL, options->user_data);
  if (status == TD_OK)
    status = td_gguf_writer_finish (w, err);
  td_gguf_writer_free (w); /* removes the temporary file unless finished */
  td_safetensors_close (st);
  g_free (plans);
  if (status == TD_OK && report != NULL)
    *report = r;
  return status;
}

td_status
td_quantize (const char *in, const char *out, const td_quantize_options *options, td_quantize_report *report,
             td_error *err)
{
  const quant_type *q = options != NULL ? find_type (options->type) : NULL;
  if (q == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "quantize: unknown type '%s' (q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k or q6_k)",
                         options != NULL && options->type != NULL ? options->type : "(none)");
  if (in == NULL || out == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "quantize: an input and an output path are needed");
  /* The internals report through the error they are given: keep one even when the caller passes none. */
  td_error local = { 0 };
  td_status status = quantize (in, out, options, q, report, &local);
  if (status != TD_OK && err != NULL)
    *err = local;
  return status;
}
