/* qwen2vl_config.c — reading Qwen2-VL's config.json in both of its published forms:
 * the flat one of the original checkpoints (text keys at the top, rope_scaling
 * {type: mrope, mrope_section}) and the nested one newer transformers writes
 * (text_config, rope_parameters). */
#include <string.h>

#include "backend/op.h"
#include "models/model_config.h"
#include "models/qwen2vl.h"

/* The object holding key: the text section when it has it, else the top level. */
static JsonObject *
pick (const td_model_config *config, JsonObject *text, const char *key)
{
  if (text != NULL && json_object_has_member (text, key))
    return text;
  return config->root;
}

static td_status
activation (const td_model_config *config, const char *key, const char *name, int *out, td_error *err)
{
  static const struct {
    const char *name;
    td_unary_kind kind;
  } known[] = {
    { "silu", TD_UNARY_SILU },           { "swish", TD_UNARY_SILU },
    { "quick_gelu", TD_UNARY_QUICK_GELU }, { "gelu", TD_UNARY_GELU },
    { "gelu_pytorch_tanh", TD_UNARY_GELU_TANH }, { "gelu_new", TD_UNARY_GELU_TANH },
    { "relu", TD_UNARY_RELU },
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp (name, known[i].name) == 0)
      {
        *out = known[i].kind;
        return TD_OK;
      }
  return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported", config->path, key, name);
}

/* rope_parameters (nested form) or rope_scaling (flat form), in the text section or at the top. */
static td_status
read_rope (const td_model_config *config, JsonObject *text, td_qwen2vl_config *c, td_error *err)
{
  const char *names[2] = { "rope_parameters", "rope_scaling" };
  JsonObject *rope = NULL;
  for (int i = 0; i < 2 && rope == NULL; i++)
    rope = td_config_object (config, pick (config, text, names[i]), names[i]);
  if (rope == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: no rope_parameters or rope_scaling with an mrope_section",
                         config->path);

  const char *type = NULL, *rope_type = NULL;
  long long section[4];
  int count = 0;
  td_status st;
  if ((st = td_config_string (config, rope, "type", false, NULL, &type, err))
      || (st = td_config_string (config, rope, "rope_type", false, NULL, &rope_type, err))
      || (st = td_config_int_array (config, rope, "mrope_section", section, 4, &count, err)))
    return st;
  const char *kinds[2] = { type, rope_type };
  for (int i = 0; i < 2; i++)
    if (kinds[i] != NULL && strcmp (kinds[i], "mrope") != 0 && strcmp (kinds[i], "default") != 0)
      return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: rope type \"%s\" is not supported", config->path, kinds[i]);
  if (count != 3)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"mrope_section\" has %d entries, 3 expected", config->path, count);
  int sum = 0;
  for (int i = 0; i < 3; i++)
    {
      if (section[i] < 0 || section[i] > 4096)
        return td_error_set (err, TD_ERR_FORMAT, "%s: \"mrope_section\" entry %lld is out of range", config->path,
                             section[i]);
      c->mrope_section[i] = (int) section[i];
      sum += (int) section[i];
    }
  if (sum * 2 != c->head_dim)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"mrope_section\" adds up to %d, head_dim / 2 = %d expected",
                         config->path, sum, c->head_dim / 2);

  /* rope_theta sits in rope_parameters (nested form) or beside it (flat form). */
  JsonObject *theta_at = json_object_has_member (rope, "rope_theta") ? rope : pick (config, text, "rope_theta");
  if ((st = td_config_double (config, theta_at, "rope_theta", false, 1000000.0, &c->rope_theta, err)))
    return st;
  if (!(c->rope_theta > 0.0))
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"rope_theta\" must be positive", config->path);
  return TD_OK;
}

/* Adds eos_token_id of `where` (an integer, a list, or null/absent) to the config's
 * EOS ids; the first one seen also becomes eos_token_id. */
static td_status
read_eos (const td_model_config *config, JsonObject *where, td_qwen2vl_config *c, td_error *err)
{
  JsonNode *node = json_object_get_member (where, "eos_token_id");
  long long values[TD_QWEN2VL_MAX_EOS] = { -1 };
  int count = 0;
  td_status st = TD_OK;
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    st = td_config_int_array (config, where, "eos_token_id", values, TD_QWEN2VL_MAX_EOS, &count, err);
  else if ((st = td_config_int (config, where, "eos_token_id", false, -1, -1, (1 << 24) - 1, &values[0], err)) == TD_OK)
    count = values[0] >= 0;
  for (int i = 0; st == TD_OK && i < count; i++)
    {
      if (values[i] < 0 || values[i] >= (1 << 24))
        return td_error_set (err, TD_ERR_FORMAT, "%s: \"eos_token_id\" is out of range", config->path);
      bool known = false;
      for (int k = 0; k < c->n_eos_token_ids; k++)
        known = known || c->eos_token_ids[k] == (int) values[i];
      if (known)
        continue;
      if (c->n_eos_token_ids == TD_QWEN2VL_MAX_EOS)
        return td_error_set (err, TD_ERR_LIMIT, "%s: more than %d EOS ids", config->path, TD_QWEN2VL_MAX_EOS);
      c->eos_token_ids[c->n_eos_token_ids++] = (int) values[i];
    }
  c->eos_token_id = c->n_eos_token_ids > 0 ? c->eos_token_ids[0] : -1;
  return st;
}

static td_status
read_text (const td_model_config *config, JsonObject *text, td_qwen2vl_config *c, td_error *err)
{
  long long v[7];
  double eps;
  const char *act = NULL;
  td_status st;
  if ((st = td_config_int (config, pick (config, text, "vocab_size"), "vocab_size", true, 0, 1, 1 << 24, &v[0], err))
      || (st = td_config_int (config, pick (config, text, "hidden_size"), "hidden_size", true, 0, 1, 1 << 16, &v[1],
                              err))
      || (st = td_config_int (config, pick (config, text, "intermediate_size"), "intermediate_size", true, 0, 1,
                              1 << 20, &v[2], err))
      || (st = td_config_int (config, pick (config, text, "num_hidden_layers"), "num_hidden_layers", true, 0, 1, 1024,
                              &v[3], err))
      || (st = td_config_int (config, pick (config, text, "num_attention_heads"), "num_attention_heads", true, 0, 1,
                              1024, &v[4], err))
      || (st = td_config_int (config, pick (config, text, "num_key_value_heads"), "num_key_value_heads", false, v[4],
                              1, 1024, &v[5], err))
      || (st = td_config_int (config, pick (config, text, "max_position_embeddings"), "max_position_embeddings", false,
                              32768, 1, 1 << 24, &v[6], err))
      || (st = td_config_double (config, pick (config, text, "rms_norm_eps"), "rms_norm_eps", false, 1e-6, &eps, err))
      || (st = td_config_string (config, pick (config, text, "hidden_act"), "hidden_act", false, "silu", &act, err))
      || (st = td_config_bool (config, pick (config, text, "tie_word_embeddings"), "tie_word_embeddings", false, false,
                               &c->tie_embeddings, err)))
    return st;
  c->vocab_size = (int) v[0];
  c->hidden_size = (int) v[1];
  c->intermediate_size = (int) v[2];
  c->num_layers = (int) v[3];
  c->num_heads = (int) v[4];
  c->num_kv_heads = (int) v[5];
  c->max_positions = (int) v[6];
  c->rms_eps = (float) eps;
  if (c->hidden_size % c->num_heads != 0 || (c->hidden_size / c->num_heads) % 2 != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: hidden_size %d does not split into %d heads of even width",
                         config->path, c->hidden_size, c->num_heads);
  if (c->num_heads % c->num_kv_heads != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: %d attention heads are not a multiple of %d key/value heads",
                         config->path, c->num_heads, c->num_kv_heads);
  if (!(eps > 0.0))
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"rms_norm_eps\" must be positive", config->path);
  c->head_dim = c->hidden_size / c->num_heads;
  if ((st = activation (config, "hidden_act", act, &c->activation, err)) || (st = read_rope (config, text, c, err))
      || (st = read_eos (config, pick (config, text, "eos_token_id"), c, err)))
    return st;

  /* Token ids sit at the top level in both forms; the defaults are Qwen2-VL's. */
  const char *id_keys[4] = { "image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id" };
  const long long id_defaults[4] = { 151655, 151656, 151652, 151653 };
  int *ids[4] = { &c->image_token_id, &c->video_token_id, &c->vision_start_token_id, &c->vision_end_token_id };
  for (int i = 0; i < 4; i++)
    {
      long long id;
      if ((st = td_config_int (config, pick (config, text, id_keys[i]), id_keys[i], false, id_defaults[i], 0,
                               (1 << 24) - 1, &id, err)))
        return st;
      if (id >= c->vocab_size)
        return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" %lld is outside the vocabulary (%d)", config->path,
                             id_keys[i], id, c->vocab_size);
      *ids[i] = (int) id;
    }
  return TD_OK;
}

static td_status
read_vision (const td_model_config *config, td_qwen2vl_config *c, td_error *err)
{
  JsonObject *vision = td_config_object (config, NULL, "vision_config");
  if (vision == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the required object \"vision_config\" is missing", config->path);
  td_qwen2vl_vision_config *vc = &c->vision;
  long long v[8];
  double mlp_ratio, theta = 10000.0;
  const char *act = NULL;
  const char *channels_key = json_object_has_member (vision, "in_channels") ? "in_channels" : "in_chans";
  td_status st;
  if ((st = td_config_int (config, vision, "depth", true, 0, 1, 1024, &v[0], err))
      || (st = td_config_int (config, vision, "embed_dim", true, 0, 1, 1 << 16, &v[1], err))
      || (st = td_config_int (config, vision, "num_heads", true, 0, 1, 1024, &v[2], err))
      || (st = td_config_int (config, vision, "hidden_size", false, c->hidden_size, 1, 1 << 16, &v[3], err))
      || (st = td_config_int (config, vision, channels_key, false, 3, 1, 16, &v[4], err))
      || (st = td_config_int (config, vision, "patch_size", false, 14, 1, 64, &v[5], err))
      || (st = td_config_int (config, vision, "temporal_patch_size", false, 2, 1, 8, &v[6], err))
      || (st = td_config_int (config, vision, "spatial_merge_size", false, 2, 1, 8, &v[7], err))
      || (st = td_config_double (config, vision, "mlp_ratio", false, 4.0, &mlp_ratio, err))
      || (st = td_config_string (config, vision, "hidden_act", false, "quick_gelu", &act, err)))
    return st;
  JsonObject *rope = td_config_object (config, vision, "rope_parameters");
  if (rope != NULL && (st = td_config_double (config, rope, "rope_theta", false, 10000.0, &theta, err)))
    return st;
  vc->depth = (int) v[0];
  vc->embed_dim = (int) v[1];
  vc->num_heads = (int) v[2];
  vc->out_dim = (int) v[3];
  vc->in_channels = (int) v[4];
  vc->patch_size = (int) v[5];
  vc->temporal_patch_size = (int) v[6];
  vc->merge_size = (int) v[7];
  vc->rope_theta = theta;
  if (!(mlp_ratio > 0.0 && mlp_ratio <= 64.0) || !(theta > 0.0))
    return td_error_set (err, TD_ERR_FORMAT, "%s: vision \"mlp_ratio\" or rope theta is out of range", config->path);
  vc->mlp_dim = (int) (vc->embed_dim * mlp_ratio);
  if (vc->embed_dim % vc->num_heads != 0 || (vc->embed_dim / vc->num_heads) % 4 != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: vision embed_dim %d does not split into %d heads of a width "
                         "divisible by 4", config->path, vc->embed_dim, vc->num_heads);
  if (vc->out_dim != c->hidden_size)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the vision merger gives %d features, the language model takes %d",
                         config->path, vc->out_dim, c->hidden_size);
  return activation (config, "vision hidden_act", act, &vc->activation, err);
}

td_status
td_qwen2vl_config_read (const char *path, td_qwen2vl_config *c, td_error *err)
{
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  memset (c, 0, sizeof *c);
  JsonObject *text = td_config_object (config, NULL, "text_config");
  td_status st = read_text (config, text, c, err);
  if (st == TD_OK)
    st = read_vision (config, c, err);
  td_model_config_free (config);
  return st;
}

td_status
td_qwen2vl_generation_config_read (const char *path, td_qwen2vl_config *c, td_error *err)
{
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  td_status st = read_eos (config, config->root, c, err);
  td_model_config_free (config);
  return st;
}
