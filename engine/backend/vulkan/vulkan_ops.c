/* vulkan_ops.c — every op of op.h as a compute dispatch: what each shader
 * supports, and how an op's tensors and parameters become push constants. */
#include "backend/vulkan/vulkan_ops.h"

#include "backend/vulkan/vulkan_conv2d.h"
#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_coopmat2.h"
#include "backend/vulkan/vulkan_matmul.h"
#include "backend/vulkan/vulkan_tile_table.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "../../../shaders/push_constants.h"

static_assert (PC_DTYPE_F32 == TD_F32 && PC_DTYPE_F16 == TD_F16 && PC_DTYPE_BF16 == TD_BF16 && PC_DTYPE_I32 == TD_I32
                 && PC_DTYPE_F8_E4M3 == TD_F8_E4M3 && PC_DTYPE_F8_E5M2 == TD_F8_E5M2 && PC_DTYPE_Q4_0 == TD_Q4_0
                 && PC_DTYPE_Q4_1 == TD_Q4_1 && PC_DTYPE_Q5_0 == TD_Q5_0 && PC_DTYPE_Q5_1 == TD_Q5_1
                 && PC_DTYPE_Q8_0 == TD_Q8_0 && PC_DTYPE_Q2_K == TD_Q2_K && PC_DTYPE_Q3_K == TD_Q3_K
                 && PC_DTYPE_Q4_K == TD_Q4_K && PC_DTYPE_Q5_K == TD_Q5_K && PC_DTYPE_Q6_K == TD_Q6_K,
               "shader dtype codes follow td_dtype");
static_assert (sizeof (td_pc_matmul) <= TD_VK_PUSH_CONSTANT_SIZE && sizeof (td_pc_matmul_rope) <= TD_VK_PUSH_CONSTANT_SIZE
                 && sizeof (td_pc_conv2d) <= TD_VK_PUSH_CONSTANT_SIZE
                 && sizeof (td_pc_norm_rope) <= TD_VK_PUSH_CONSTANT_SIZE
                 && sizeof (td_pc_attention) <= TD_VK_PUSH_CONSTANT_SIZE
                 && sizeof (td_pc_attention_decode) <= TD_VK_PUSH_CONSTANT_SIZE
                 && sizeof (td_pc_copy) <= TD_VK_PUSH_CONSTANT_SIZE && sizeof (td_pc_binary) <= TD_VK_PUSH_CONSTANT_SIZE,
               "push constants fit the 128 bytes every device offers");

#define MM_TILE 64
#define MAX_GROUPS 65535u

static uint64_t
address_of (const td_tensor *t)
{
  if (t == NULL)
    return 0;
  td_vk_allocation *a = t->buffer->impl;
  td_vk_allocation_touch (a); /* a command is about to use it */
  return a->block->address + a->offset + t->offset;
}

/* The bytes a (possibly strided, non-negative-stride) view touches. */
static td_vk_range
range_of (const td_tensor *t)
{
  td_vk_allocation *a = t->buffer->impl;
  td_vk_allocation_touch (a);
  int64_t last = 0;
  for (int i = 0; i < t->ndim; i++)
    last += (t->shape[i] > 0 ? t->shape[i] - 1 : 0) * t->stride[i];
  size_t elem = td_dtype_size (t->dtype);
  /* Packed 16-bit loads read the whole 32-bit word around an element. */
  VkDeviceSize begin = (a->offset + t->offset) & ~(VkDeviceSize) 3;
  VkDeviceSize end = a->offset + t->offset + (VkDeviceSize) (last + 1) * elem;
  if (td_dtype_is_quantized (t->dtype)) /* block types are contiguous */
    end = a->offset + t->offset + td_tensor_nbytes (t);
  end = (end + 3) & ~(VkDeviceSize) 3;
  return (td_vk_range) { a->block, a->block->buffer, begin, end - begin };
}

static const char *
storage_suffix (const td_vk_context *ctx)
{
  return ctx->info.storage_16bit ? "s16" : "p32";
}

static uint32_t
u32 (int64_t v)
{
  return (uint32_t) v;
}

static int64_t
rows_of (const td_tensor *t)
{
  int64_t rows = 1;
  for (int i = 0; i < t->ndim - 1; i++)
    rows *= t->shape[i];
  return rows;
}

static int64_t
last_dim (const td_tensor *t)
{
  return t->ndim > 0 ? t->shape[t->ndim - 1] : 1;
}

/* Records `variant`, specialised by `spec` (spec_count constants from id 0), over the
 * op's tensors: every src is read, dst written. */
static td_status
launch_specialised (td_vk_context *ctx, const td_op *op, const char *variant, const uint32_t *spec, int spec_count,
                    const void *push, size_t push_size, uint32_t gx, uint32_t gy, uint32_t gz, double work,
                    td_error *err)
{
  VkPipeline pipeline;
  td_status status = td_vk_pipeline_get (ctx, variant, spec, spec_count, &pipeline, err);
  if (status != TD_OK)
    return status;
  td_vk_range reads[TD_OP_MAX_SRC];
  int read_count = 0;
  for (int i = 0; i < TD_OP_MAX_SRC; i++)
    if (op->src[i] != NULL && td_tensor_numel (op->src[i]) > 0)
      reads[read_count++] = range_of (op->src[i]);
  td_vk_range write = range_of (op->dst);
  return td_vk_dispatch (ctx, td_op_name (op->type), pipeline, push, push_size, gx, gy, gz, work, reads, read_count,
                         &write, 1, err);
}

static td_status
launch (td_vk_context *ctx, const td_op *op, const char *variant, const void *push, size_t push_size, uint32_t gx,
        uint32_t gy, uint32_t gz, double work, td_error *err)
{
  return launch_specialised (ctx, op, variant, NULL, 0, push, push_size, gx, gy, gz, work, err);
}

/* One invocation per element (256 per workgroup) over a 2-D grid. */
static td_status
launch_elements (td_vk_context *ctx, const td_op *op, const char *variant, const void *push, size_t push_size,
                 int64_t count, td_error *err)
{
  uint32_t gx, gy;
  td_vk_grid (u32 ((count + 255) / 256), &gx, &gy);
  return launch (ctx, op, variant, push, push_size, gx, gy, 1, (double) count, err);
}

/* One workgroup per row. */
static td_status
launch_rows (td_vk_context *ctx, const td_op *op, const char *variant, const void *push, size_t push_size,
             int64_t rows, double work, td_error *err)
{
  uint32_t gx, gy;
  td_vk_grid (u32 (rows), &gx, &gy);
  return launch (ctx, op, variant, push, push_size, gx, gy, 1, work, err);
}

static bool
is_weight_dtype (td_dtype dtype)
{
  return dtype == TD_F32 || dtype == TD_F16 || dtype == TD_BF16;
}

static bool
matmul_shape (const td_op *op, int64_t *batch, int64_t *m, int64_t *n, int64_t *k)
{
  const td_tensor *x = op->src[0], *w = op->src[1];
  *k = last_dim (x);
  *n = w->shape[w->ndim - 2];
  if (w->ndim == 3)
    {
      *m = x->ndim >= 2 ? x->shape[x->ndim - 2] : 1;
      *batch = *m > 0 ? rows_of (x) / *m : 0;
    }
  else
    {
      *batch = 1;
      *m = rows_of (x);
    }
  return true;
}

/* The matmul family's variant for m rows of w, on the path the device takes. */
static td_vk_matmul_path
matmul_variant (td_vk_context *ctx, int64_t m, td_dtype w_dtype, char *variant, size_t size)
{
  td_vk_matmul_path path = td_vk_matmul_kernel (variant, size, m, ctx->info.coopmat_enabled, ctx->coopmat_emulate,
                                                w_dtype, ctx->info.storage_16bit);
  /* Devices set up with VK_KHR_cooperative_matrix run the same kernel compiled for it. */
  if (path == TD_VK_MATMUL_COOPMAT && !ctx->coopmat_emulate && ctx->info.coopmat_uses_khr)
    {
      td_vk_coopmat_pick khr = { .api = TD_VK_COOPMAT_API_KHR, .bf16_tiles = ctx->info.coopmat_bf16_tiles };
      td_vk_coopmat_pick_variant (variant, size, khr, w_dtype);
    }
  return path;
}

/* The GEMV (matmul_vec.comp, its '_sg' twin where subgroup arithmetic reduces):
 * ceil (n / TD_VK_GEMV_ROWS) workgroups per batch; when they are too few to fill
 * the device, K is cut in slices summed into scratch, which matmul_vec_reduce.comp
 * adds up with the bias and the epilogue. */
static td_status
run_gemv (td_vk_context *ctx, const td_op *op, td_pc_matmul *pc, const char *base, uint32_t epilogue,
          int64_t batch, td_error *err)
{
  char variant[72];
  td_vk_gemv_variant (variant, sizeof variant, base, ctx->gemv_subgroup);
  int64_t m = pc->m, n = pc->n, k = pc->k;
  /* The driver's SM/CU count where it reports one, else a guess by device type. */
  uint32_t units = ctx->info.compute_units != 0 ? ctx->info.compute_units : td_vk_gemv_compute_units (ctx->info.type);
  uint32_t splits = ctx->gemv_forced_splits != 0 ? ctx->gemv_forced_splits : td_vk_gemv_splits (n, k, batch, units);
  /* A vocabulary projection has more row groups than one grid dimension takes. */
  int64_t groups = (n + TD_VK_GEMV_ROWS - 1) / TD_VK_GEMV_ROWS;
  uint32_t gx = u32 (groups < MAX_GROUPS ? groups : MAX_GROUPS), gy = u32 ((groups + gx - 1) / gx);
  double work = 2.0 * (double) batch * (double) m * (double) n * (double) k;
  pc->batch = u32 (batch);
  pc->k_splits = 1;
  if (splits <= 1 || batch * splits > MAX_GROUPS)
    return launch_specialised (ctx, op, variant, &epilogue, 1, pc, sizeof *pc, gx, gy, u32 (batch), work, err);

  const int64_t outputs = batch * m * n, partial_shape[1] = { (int64_t) splits * outputs };
  td_tensor *partial = td_tensor_new (ctx->backend, TD_F32, 1, partial_shape, err);
  if (partial == NULL)
    return err != NULL ? err->status : TD_ERR_NO_MEMORY;
  pc->k_splits = splits;
  td_pc_matmul split_pc = *pc;
  split_pc.y = address_of (partial);
  td_pc_matmul reduce_pc = *pc;
  reduce_pc.x = split_pc.y;

  const uint32_t no_epilogue = 0;
  VkPipeline split_pipeline, reduce_pipeline;
  td_status status = td_vk_pipeline_get (ctx, variant, &no_epilogue, 1, &split_pipeline, err);
  if (status == TD_OK)
    status = td_vk_pipeline_get (ctx, "matmul_vec_reduce", &epilogue, 1, &reduce_pipeline, err);
  td_vk_range inputs[2] = { range_of (op->src[0]), range_of (op->src[1]) }, scratch = range_of (partial),
              output = range_of (op->dst);
  td_vk_range reduce_inputs[2] = { scratch };
  int reduce_input_count = 1;
  if (op->src[2] != NULL)
    reduce_inputs[reduce_input_count++] = range_of (op->src[2]);
  if (status == TD_OK)
    status = td_vk_dispatch (ctx, td_op_name (op->type), split_pipeline, &split_pc, sizeof split_pc, gx, gy,
                             u32 (batch) * splits, work, inputs, 2, &scratch, 1, err);
  uint32_t rx, ry;
  td_vk_grid (u32 ((outputs + 255) / 256), &rx, &ry);
  if (status == TD_OK)
    status = td_vk_dispatch (ctx, td_op_name (op->type), reduce_pipeline, &reduce_pc, sizeof reduce_pc, rx, ry, 1,
                             (double) partial_shape[0], reduce_inputs, reduce_input_count, &output, 1, err);
  td_tensor_free (partial);
  return status;
}

/* Appends the cooperative-matrix shape for batch × m × n outputs to `variant` (where
 * built) and gives its output tile. */
static void
coopmat_shape_variant (td_vk_context *ctx, int64_t m, int64_t n, int64_t batch, char *variant, size_t size,
                       uint32_t *tile_m, uint32_t *tile_n)
{
  const td_vk_coopmat_shape *shape = td_vk_matmul_coopmat_shape (ctx, m, n, batch);
  char shaped[64];
  td_vk_tile_variant (shaped, sizeof shaped, variant, shape->tile_m, shape->tile_n);
  if (!td_vk_shader_exists (shaped))
    return;
  snprintf (variant, size, "%s", shaped);
  *tile_m = shape->tile_m;
  *tile_n = shape->tile_n;
}

static td_status
run_matmul (td_vk_context *ctx, const td_op *op, td_error *err)
{
  int64_t batch, m, n, k;
  matmul_shape (op, &batch, &m, &n, &k);
  const td_tensor *w = op->src[1], *bias = op->src[2];
  if (!td_vk_matmul_format_supported (w->dtype))
    return td_error_set (err, TD_ERR_UNSUPPORTED, "matmul: the Vulkan backend has no kernel for %s weights",
                         td_dtype_name (w->dtype));
  td_pc_matmul pc = {
    .x = address_of (op->src[0]), .w = address_of (w), .bias = address_of (bias), .y = address_of (op->dst),
    .m = u32 (m), .n = u32 (n), .k = u32 (k),
    .w_batch_stride = w->ndim == 3 ? u32 (n * k) : 0,
    .bias_dtype = bias ? (uint32_t) bias->dtype : 0, .has_bias = bias != NULL,
  };
  char variant[64];
  td_vk_matmul_path path = matmul_variant (ctx, m, w->dtype, variant, sizeof variant);
  /* epilogue.glsl's constant: 0 stores y as is, 1 + kind applies that activation. */
  const uint32_t epilogue = op->p.matmul.activate ? 1u + (uint32_t) op->p.matmul.activation : 0u;
  if (path == TD_VK_MATMUL_GEMV)
    return run_gemv (ctx, op, &pc, variant, epilogue, batch, err);
  /* The cooperative-matrix kernel computes the device's shape for this size, the tiled one
   * the device's tile (vulkan_tile_table.h) where that shape is built for the format and
   * its grid fits; the VK_NV_cooperative_matrix2 one 128×128 (vulkan_coopmat2.h). */
  uint32_t tile_m = MM_TILE, tile_n = MM_TILE;
  if (ctx->info.storage_16bit && td_vk_coopmat2_applies (ctx->info.coopmat2_enabled, m, w->dtype, pc.x, pc.w, pc.y))
    {
      const td_vk_coopmat2_candidate *candidate = ctx->coopmat2_candidate;
      if (candidate != NULL)
        candidate->variant_for (variant, sizeof variant, w->dtype);
      else
        td_vk_coopmat2_variant (variant, sizeof variant, w->dtype);
      tile_m = candidate != NULL ? candidate->tile_m : TD_VK_COOPMAT2_TILE_M;
      tile_n = candidate != NULL ? candidate->tile_n : TD_VK_COOPMAT2_TILE_N;
    }
  else if (path == TD_VK_MATMUL_COOPMAT)
    coopmat_shape_variant (ctx, m, n, batch, variant, sizeof variant, &tile_m, &tile_n);
  else if (path == TD_VK_MATMUL_GEMM)
    {
      char tiled[64];
      td_vk_tile_variant (tiled, sizeof tiled, variant, ctx->info.tile_m, ctx->info.tile_n);
      if (td_vk_shader_exists (tiled) && (n + ctx->info.tile_n - 1) / ctx->info.tile_n <= MAX_GROUPS
          && (m + ctx->info.tile_m - 1) / ctx->info.tile_m <= MAX_GROUPS)
        {
          snprintf (variant, sizeof variant, "%s", tiled);
          tile_m = ctx->info.tile_m;
          tile_n = ctx->info.tile_n;
        }
    }
  return launch_specialised (ctx, op, variant, &epilogue, 1, &pc, sizeof pc, u32 ((n + tile_n - 1) / tile_n),
                             u32 ((m + tile_m - 1) / tile_m), u32 (batch),
                             2.0 * (double) batch * (double) m * (double) n * (double) k, err);
}

/* The matmul family's '_rope' variants (head_epilogue.glsl): one workgroup per head
 * (and per 64 rows off the GEMV path), the epilogue constant left at 0. */
static td_status
run_matmul_norm_rope (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1], *bias = op->src[2], *norm_w = op->src[3];
  const td_tensor *cos_table = op->src[4], *y = op->dst;
  int64_t m = rows_of (x), n = w->shape[0], k = last_dim (x), head_dim = last_dim (y);
  td_pc_matmul_rope pc = {
    .x = address_of (x), .w = address_of (w), .bias = address_of (bias), .y = address_of (y),
    .norm_w = address_of (norm_w), .cos_table = address_of (cos_table), .sin_table = address_of (op->src[5]),
    .m = u32 (m), .n = u32 (n), .k = u32 (k),
    .bias_dtype = bias ? (uint32_t) bias->dtype : 0, .has_bias = bias != NULL,
    .t = u32 (y->shape[y->ndim - 3]), .head_dim = u32 (head_dim),
    .rotary = u32 (2 * cos_table->shape[1]), .mode = (uint32_t) op->p.matmul_rope.mode,
    .normalise = op->p.matmul_rope.normalise, .has_norm_w = norm_w != NULL,
    .norm_w_dtype = norm_w ? (uint32_t) norm_w->dtype : 0, .eps = op->p.matmul_rope.eps,
  };
  char variant[64];
  td_vk_matmul_path path = matmul_variant (ctx, m, w->dtype, variant, sizeof variant - 8);
  uint32_t tile_m = MM_TILE, tile_n = MM_TILE;
  if (path == TD_VK_MATMUL_COOPMAT)
    coopmat_shape_variant (ctx, m, n, 1, variant, sizeof variant - 8, &tile_m, &tile_n);
  strcat (variant, "_rope");
  const uint32_t no_activation = 0;
  double work = 2.0 * (double) m * (double) n * (double) k + 6.0 * (double) m * (double) n;
  uint32_t row_groups = path == TD_VK_MATMUL_GEMV ? 1u : u32 ((m + tile_m - 1) / tile_m);
  return launch_specialised (ctx, op, variant, &no_activation, 1, &pc, sizeof pc, u32 (n / head_dim), row_groups, 1,
                             work, err);
}

static td_status
run_binary (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *a = op->src[0], *b = op->src[1];
  td_pc_binary pc = {
    .a = address_of (a), .b = address_of (b), .y = address_of (op->dst),
    .n = u32 (td_tensor_numel (a)), .op = op->type == TD_OP_MUL,
  };
  /* Right-align both shapes in 5 dims; b's contiguous strides, 0 where it broadcasts. */
  int pad_a = PC_MAX_DIMS - a->ndim, pad_b = PC_MAX_DIMS - b->ndim;
  int64_t stride = 1;
  for (int d = PC_MAX_DIMS - 1; d >= 0; d--)
    {
      int64_t size_a = d >= pad_a ? a->shape[d - pad_a] : 1;
      int64_t size_b = d >= pad_b ? b->shape[d - pad_b] : 1;
      pc.shape[d] = u32 (size_a);
      pc.b_stride[d] = size_b == 1 ? 0 : u32 (stride);
      stride *= size_b;
    }
  return launch_elements (ctx, op, "binary", &pc, sizeof pc, td_tensor_numel (a), err);
}

static td_status
run_unary (td_vk_context *ctx, const td_op *op, td_error *err)
{
  td_pc_unary pc = {
    .x = address_of (op->src[0]), .y = address_of (op->dst), .n = u32 (td_tensor_numel (op->src[0])),
  };
  if (op->type == TD_OP_SCALE)
    {
      pc.kind = PC_UNARY_SCALE;
      pc.scale = op->p.scale.scale;
      pc.bias = op->p.scale.bias;
    }
  else
    pc.kind = (uint32_t) op->p.unary.kind;
  return launch_elements (ctx, op, "unary", &pc, sizeof pc, pc.n, err);
}

static td_status
run_norm (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1], *b = op->type != TD_OP_RMS_NORM ? op->src[2] : NULL;
  td_pc_norm pc = {
    .x = address_of (x), .w = address_of (w), .b = address_of (b), .y = address_of (op->dst),
    .rows = u32 (rows_of (x)), .cols = u32 (last_dim (x)),
    .mode = op->type == TD_OP_RMS_NORM ? 1u : op->type == TD_OP_ADA_LAYER_NORM ? 2u : 0u,
    .w_dtype = w ? (uint32_t) w->dtype : 0, .b_dtype = b ? (uint32_t) b->dtype : 0,
    .has_w = w != NULL, .has_b = b != NULL, .eps = op->p.norm.eps,
  };
  char variant[32];
  snprintf (variant, sizeof variant, "norm_%s", storage_suffix (ctx));
  return launch_rows (ctx, op, variant, &pc, sizeof pc, pc.rows, 3.0 * (double) td_tensor_numel (x), err);
}

static td_status
run_group_norm (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1], *b = op->src[2];
  int64_t batch = x->shape[0], channels = x->ndim > 1 ? x->shape[1] : 1;
  td_pc_group_norm pc = {
    .x = address_of (x), .w = address_of (w), .b = address_of (b), .y = address_of (op->dst),
    .batch = u32 (batch), .channels = u32 (channels),
    .spatial = u32 (batch * channels > 0 ? td_tensor_numel (x) / (batch * channels) : 0),
    .groups = (uint32_t) op->p.norm.groups,
    .w_dtype = w ? (uint32_t) w->dtype : 0, .b_dtype = b ? (uint32_t) b->dtype : 0,
    .has_w = w != NULL, .has_b = b != NULL, .eps = op->p.norm.eps,
  };
  char variant[32];
  snprintf (variant, sizeof variant, "group_norm_%s", storage_suffix (ctx));
  return launch_rows (ctx, op, variant, &pc, sizeof pc, (int64_t) pc.batch * pc.groups,
                      3.0 * (double) td_tensor_numel (x), err);
}

static td_status
run_softmax (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  td_pc_softmax pc = {
    .x = address_of (x), .y = address_of (op->dst),
    .rows = u32 (rows_of (x)), .cols = u32 (last_dim (x)), .scale = op->p.softmax.scale,
  };
  return launch_rows (ctx, op, "softmax", &pc, sizeof pc, pc.rows, 3.0 * (double) td_tensor_numel (x), err);
}

static td_status
run_rope (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *cos_table = op->src[1];
  td_pc_rope pc = {
    .x = address_of (x), .cos_table = address_of (cos_table), .sin_table = address_of (op->src[2]),
    .y = address_of (op->dst),
    .n = u32 (td_tensor_numel (x)), .t = u32 (x->shape[x->ndim - 3]), .h = u32 (x->shape[x->ndim - 2]),
    .d = u32 (x->shape[x->ndim - 1]), .rotary = u32 (2 * cos_table->shape[cos_table->ndim - 1]),
    .mode = (uint32_t) op->p.rope.mode,
  };
  return launch_elements (ctx, op, "rope", &pc, sizeof pc, pc.n, err);
}

/* Keys per chunk of the decode attention: enough chunks to spread a long cache over
 * the device (about 32 per key/value head), never under 32 keys, a multiple of 64. */
static uint32_t
decode_attention_chunk (uint32_t tk)
{
  uint32_t chunk = (tk + 31) / 32;
  chunk = chunk < 32 ? 32 : chunk;
  return (chunk + 63) / 64 * 64;
}

/* One query row without a bias: attention_decode.comp, then its reduction pass. */
static bool
is_decode_attention (const td_op *op)
{
  const td_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2];
  return q->shape[1] == 1 && op->src[3] == NULL && k->shape[1] > 0 && q->shape[3] <= 256 && v->shape[3] <= 256;
}

static td_status
run_decode_attention (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2];
  td_pc_attention_decode pc = {
    .q = address_of (q), .k = address_of (k), .v = address_of (v), .y = address_of (op->dst),
    .batch = u32 (q->shape[0]), .tk = u32 (k->shape[1]), .heads = u32 (q->shape[2]), .kv_heads = u32 (k->shape[2]),
    .d = u32 (q->shape[3]), .dv = u32 (v->shape[3]), .kv_dtype = (uint32_t) k->dtype,
    .scale = op->p.attention.scale,
  };
  const uint32_t heads_per_group = 8; /* GMAX of the shader */
  uint32_t group = pc.heads / pc.kv_heads, dmax = pc.d > pc.dv ? pc.d : pc.dv;
  pc.chunk = decode_attention_chunk (pc.tk);
  pc.splits = (pc.tk + pc.chunk - 1) / pc.chunk;
  pc.head_groups = (group + heads_per_group - 1) / heads_per_group;
  const char *kernel = dmax <= 64 ? "attention_decode_d64" : dmax <= 128 ? "attention_decode_d128"
                                                                          : "attention_decode_d256";
  const int64_t partial_shape[1] = { (int64_t) pc.batch * pc.heads * pc.splits * (pc.dv + 2) };
  td_tensor *partial = td_tensor_new (ctx->backend, TD_F32, 1, partial_shape, err);
  if (partial == NULL)
    return err != NULL ? err->status : TD_ERR_NO_MEMORY;
  pc.partial = address_of (partial);

  VkPipeline split_pipeline, reduce_pipeline;
  td_status status = td_vk_pipeline_get (ctx, kernel, NULL, 0, &split_pipeline, err);
  if (status == TD_OK)
    status = td_vk_pipeline_get (ctx, "attention_decode_reduce", NULL, 0, &reduce_pipeline, err);
  td_vk_range inputs[3] = { range_of (q), range_of (k), range_of (v) }, scratch = range_of (partial),
              output = range_of (op->dst);
  double work = 2.0 * pc.batch * pc.heads * (double) pc.tk * (pc.d + pc.dv);
  if (status == TD_OK)
    status = td_vk_dispatch (ctx, "attention_decode", split_pipeline, &pc, sizeof pc, pc.splits,
                             pc.kv_heads * pc.head_groups, pc.batch, work, inputs, 3, &scratch, 1, err);
  if (status == TD_OK)
    status = td_vk_dispatch (ctx, "attention_decode", reduce_pipeline, &pc, sizeof pc, pc.heads, pc.batch, 1,
                             (double) partial_shape[0], &scratch, 1, &output, 1, err);
  td_tensor_free (partial);
  return status;
}

static td_status
run_norm_rope (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1], *cos_table = op->src[2];
  td_pc_norm_rope pc = {
    .x = address_of (x), .w = address_of (w), .cos_table = address_of (cos_table),
    .sin_table = address_of (op->src[3]), .y = address_of (op->dst),
    .rows = u32 (rows_of (x)), .t = u32 (x->shape[x->ndim - 3]), .h = u32 (x->shape[x->ndim - 2]),
    .d = u32 (last_dim (x)), .rotary = u32 (2 * cos_table->shape[cos_table->ndim - 1]),
    .mode = (uint32_t) op->p.rope_norm.mode, .w_dtype = w ? (uint32_t) w->dtype : 0, .has_w = w != NULL,
    .eps = op->p.rope_norm.eps,
  };
  char variant[32];
  snprintf (variant, sizeof variant, "norm_rope_%s", storage_suffix (ctx));
  return launch_rows (ctx, op, variant, &pc, sizeof pc, pc.rows, 5.0 * (double) td_tensor_numel (x), err);
}

static td_status
run_attention (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2], *bias = op->src[3];
  if (is_decode_attention (op))
    return run_decode_attention (ctx, op, err);
  td_pc_attention pc = {
    .q = address_of (q), .k = address_of (k), .v = address_of (v), .bias = address_of (bias),
    .y = address_of (op->dst),
    .batch = u32 (q->shape[0]), .tq = u32 (q->shape[1]), .tk = u32 (k->shape[1]), .heads = u32 (q->shape[2]),
    .kv_heads = u32 (k->shape[2]), .d = u32 (q->shape[3]), .dv = u32 (v->shape[3]),
    .causal = op->p.attention.causal, .has_bias = bias != NULL, .scale = op->p.attention.scale,
    .kv_dtype = (uint32_t) k->dtype,
  };
  if (bias != NULL)
    {
      pc.bias_stride_h = bias->shape[1] == 1 ? 0 : u32 (pc.tq * pc.tk);
      pc.bias_stride_b = bias->shape[0] == 1 ? 0 : u32 (bias->shape[1] * pc.tq * pc.tk);
    }
  uint32_t rows_per_group;
  const char *kernel = td_vk_attention_kernel (pc.d, pc.dv, ctx->info.coopmat_enabled, ctx->coopmat_emulate,
                                               &rows_per_group);
  if (!ctx->coopmat_emulate && ctx->info.coopmat_uses_khr && strcmp (kernel, "attention_coopmat") == 0)
    kernel = "attention_coopmat_khr";
  double work = 2.0 * pc.batch * pc.heads * (double) pc.tq * pc.tk * (pc.d + pc.dv);
  return launch (ctx, op, kernel, &pc, sizeof pc, (pc.tq + rows_per_group - 1) / rows_per_group, pc.heads, pc.batch,
                 work, err);
}

static td_status
run_conv2d (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1], *bias = op->src[2], *y = op->dst;
  td_pc_conv2d pc = {
    .x = address_of (x), .w = address_of (w), .bias = address_of (bias), .y = address_of (y),
    .batch = u32 (x->shape[0]), .cin = u32 (x->shape[1]), .h = u32 (x->shape[2]), .w_in = u32 (x->shape[3]),
    .cout = u32 (w->shape[0]), .ho = u32 (y->shape[2]), .wo = u32 (y->shape[3]),
    .kh = u32 (w->shape[2]), .kw = u32 (w->shape[3]),
    .stride_h = (uint32_t) op->p.conv2d.stride_h, .stride_w = (uint32_t) op->p.conv2d.stride_w,
    .pad_h = (uint32_t) op->p.conv2d.pad_h, .pad_w = (uint32_t) op->p.conv2d.pad_w,
    .bias_dtype = bias ? (uint32_t) bias->dtype : 0, .has_bias = bias != NULL,
  };
  int64_t columns = (int64_t) pc.batch * pc.ho * pc.wo;
  const td_vk_conv2d_device device = {
    .coopmat = ctx->info.coopmat_enabled, .emulate = ctx->coopmat_emulate, .uses_khr = ctx->info.coopmat_uses_khr,
    .storage_16bit = ctx->info.storage_16bit, .tile_m = ctx->info.tile_m, .tile_n = ctx->info.tile_n,
  };
  td_vk_conv2d_kernel kernel = td_vk_conv2d_choose (&device, w->dtype, pc.cout, columns, td_vk_shader_exists);
  double work = 2.0 * pc.cout * (double) columns * pc.cin * pc.kh * pc.kw;
  return launch (ctx, op, kernel.variant, &pc, sizeof pc,
                 u32 ((columns + kernel.pixels_per_group - 1) / kernel.pixels_per_group),
                 (pc.cout + kernel.channels_per_group - 1) / kernel.channels_per_group, 1, work, err);
}

static td_status
run_resize (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *y = op->dst;
  td_pc_resize pc = {
    .x = address_of (x), .y = address_of (y),
    .planes = u32 (x->shape[0] * x->shape[1]), .h = u32 (x->shape[2]), .w = u32 (x->shape[3]),
    .ho = u32 (y->shape[2]), .wo = u32 (y->shape[3]),
    .mode = op->type == TD_OP_UPSAMPLE_NEAREST2X ? PC_RESIZE_NEAREST2X
            : op->type == TD_OP_RESIZE_BILINEAR  ? PC_RESIZE_BILINEAR
                                                 : PC_RESIZE_BICUBIC,
  };
  return launch_elements (ctx, op, "resize", &pc, sizeof pc, td_tensor_numel (y), err);
}

static td_status
run_embedding (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *ids = op->src[0], *table = op->src[1];
  td_pc_embedding pc = {
    .ids = address_of (ids), .table = address_of (table), .y = address_of (op->dst),
    .n_ids = u32 (td_tensor_numel (ids)), .dim = u32 (table->shape[1]), .vocab = u32 (table->shape[0]),
    .table_dtype = (uint32_t) table->dtype,
  };
  char variant[32];
  /* A ggml block table has its own decoder variant, read as 32-bit words on any device. */
  if (td_dtype_is_quantized (table->dtype))
    snprintf (variant, sizeof variant, "embedding_%s_p32", td_dtype_name (table->dtype));
  else
    snprintf (variant, sizeof variant, "embedding_%s", storage_suffix (ctx));
  return launch_elements (ctx, op, variant, &pc, sizeof pc, td_tensor_numel (op->dst), err);
}

static int
concat_dim (const td_op *op)
{
  int dim = op->p.concat.dim;
  return dim < 0 ? dim + op->src[0]->ndim : dim;
}

static td_status
run_concat (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *a = op->src[0], *b = op->src[1];
  int dim = concat_dim (op);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < dim; i++)
    outer *= a->shape[i];
  for (int i = dim + 1; i < a->ndim; i++)
    inner *= a->shape[i];
  td_pc_concat pc = {
    .a = address_of (a), .b = address_of (b), .y = address_of (op->dst),
    .outer = u32 (outer), .a_inner = u32 (a->shape[dim] * inner), .b_inner = u32 (b->shape[dim] * inner),
  };
  char variant[32];
  snprintf (variant, sizeof variant, "concat16_%s", storage_suffix (ctx));
  return launch_elements (ctx, op, td_dtype_size (a->dtype) == 2 ? variant : "concat32", &pc, sizeof pc,
                          td_tensor_numel (op->dst), err);
}

static td_status
run_copy (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  td_pc_copy pc = {
    .x = address_of (x), .y = address_of (op->dst), .n = u32 (td_tensor_numel (x)),
    .x_dtype = (uint32_t) x->dtype, .y_dtype = (uint32_t) op->dst->dtype,
  };
  int pad = PC_MAX_DIMS - x->ndim;
  for (int d = 0; d < PC_MAX_DIMS; d++)
    {
      pc.shape[d] = d >= pad ? u32 (x->shape[d - pad]) : 1;
      pc.stride[d] = d >= pad ? u32 (x->stride[d - pad]) : 0;
    }
  char variant[32];
  snprintf (variant, sizeof variant, "copy_%s", storage_suffix (ctx));
  return launch_elements (ctx, op, variant, &pc, sizeof pc, pc.n, err);
}

static td_status
run_pick (td_vk_context *ctx, const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  td_pc_pick pc = {
    .x = address_of (x), .y = address_of (op->dst),
    .rows = u32 (rows_of (x)), .cols = u32 (last_dim (x)),
  };
  bool sample = op->type == TD_OP_SAMPLE && op->p.sample.temperature > 0.0f;
  if (sample)
    {
      pc.seed = op->p.sample.seed;
      pc.counter = op->p.sample.counter;
      pc.temperature = op->p.sample.temperature;
      pc.top_p = op->p.sample.top_p;
    }
  return launch_rows (ctx, op, sample ? "sample" : "argmax", &pc, sizeof pc, pc.rows,
                      (sample ? 80.0 : 1.0) * (double) td_tensor_numel (x), err);
}

td_status
td_vk_run_op (td_vk_context *ctx, const td_op *op, td_error *err)
{
  if (td_tensor_numel (op->dst) == 0)
    return TD_OK;
  switch (op->type)
    {
    case TD_OP_MATMUL: return run_matmul (ctx, op, err);
    case TD_OP_MATMUL_NORM_ROPE: return run_matmul_norm_rope (ctx, op, err);
    case TD_OP_ADD:
    case TD_OP_MUL: return run_binary (ctx, op, err);
    case TD_OP_SCALE:
    case TD_OP_UNARY: return run_unary (ctx, op, err);
    case TD_OP_LAYER_NORM:
    case TD_OP_RMS_NORM:
    case TD_OP_ADA_LAYER_NORM: return run_norm (ctx, op, err);
    case TD_OP_GROUP_NORM: return run_group_norm (ctx, op, err);
    case TD_OP_SOFTMAX: return run_softmax (ctx, op, err);
    case TD_OP_ROPE: return run_rope (ctx, op, err);
    case TD_OP_RMS_NORM_ROPE: return run_norm_rope (ctx, op, err);
    case TD_OP_ATTENTION: return run_attention (ctx, op, err);
    case TD_OP_CONV2D: return run_conv2d (ctx, op, err);
    case TD_OP_UPSAMPLE_NEAREST2X:
    case TD_OP_RESIZE_BILINEAR:
    case TD_OP_RESIZE_BICUBIC: return run_resize (ctx, op, err);
    case TD_OP_EMBEDDING: return run_embedding (ctx, op, err);
    case TD_OP_CONCAT: return run_concat (ctx, op, err);
    case TD_OP_COPY: return run_copy (ctx, op, err);
    case TD_OP_ARGMAX:
    case TD_OP_SAMPLE: return run_pick (ctx, op, err);
    case TD_OP_COUNT:
    default: return td_error_set (err, TD_ERR_INVALID_ARG, "invalid op");
    }
}

/* Every tensor lives in this backend's memory, is addressable with 32-bit element
 * indices, and (apart from COPY's source) is f32 where the shader expects it. */
static bool
tensors_fit (td_vk_context *ctx, const td_op *op)
{
  for (int i = -1; i < TD_OP_MAX_SRC; i++)
    {
      const td_tensor *t = i < 0 ? op->dst : op->src[i];
      if (t == NULL)
        continue;
      if (t->buffer == NULL || t->buffer->backend != ctx->backend || t->ndim > PC_MAX_DIMS)
        return false;
      int64_t span = 1;
      for (int d = 0; d < t->ndim; d++)
        {
          if (t->stride[d] < 0)
            return false;
          span += (t->shape[d] > 0 ? t->shape[d] - 1 : 0) * t->stride[d];
        }
      if (td_tensor_numel (t) >= INT32_MAX || span >= INT32_MAX)
        return false;
    }
  return true;
}

static bool
all_f32 (const td_op *op, int count)
{
  if (op->dst->dtype != TD_F32)
    return false;
  for (int i = 0; i < count; i++)
    if (op->src[i] != NULL && op->src[i]->dtype != TD_F32)
      return false;
  return true;
}

static bool
params_ok (const td_op *op, int first, int last)
{
  for (int i = first; i <= last; i++)
    if (op->src[i] != NULL && !is_weight_dtype (op->src[i]->dtype))
      return false;
  return true;
}

bool
td_vk_supports_op (td_vk_context *ctx, const td_op *op)
{
  if (!tensors_fit (ctx, op))
    return false;
  switch (op->type)
    {
    case TD_OP_MATMUL:
      {
        int64_t batch, m, n, k;
        matmul_shape (op, &batch, &m, &n, &k);
        return all_f32 (op, 1) && td_vk_matmul_format_supported (op->src[1]->dtype) && params_ok (op, 2, 2)
               && (n + MM_TILE - 1) / MM_TILE <= MAX_GROUPS
               && (m + MM_TILE - 1) / MM_TILE <= MAX_GROUPS && batch <= MAX_GROUPS;
      }
    case TD_OP_MATMUL_NORM_ROPE:
      {
        const td_tensor *w = op->src[1], *y = op->dst;
        int64_t m = rows_of (op->src[0]);
        return all_f32 (op, 1) && td_vk_matmul_format_supported (w->dtype) && params_ok (op, 2, 3)
               && op->src[4]->dtype == TD_F32 && op->src[5]->dtype == TD_F32
               && y->shape[y->ndim - 2] <= MAX_GROUPS && (m + MM_TILE - 1) / MM_TILE <= MAX_GROUPS;
      }
    case TD_OP_ADD:
    case TD_OP_MUL:
      return all_f32 (op, 2);
    case TD_OP_SCALE:
    case TD_OP_UNARY:
    case TD_OP_SOFTMAX:
      return all_f32 (op, 1) && (op->type != TD_OP_UNARY || (unsigned) op->p.unary.kind < TD_UNARY_COUNT);
    case TD_OP_LAYER_NORM:
    case TD_OP_RMS_NORM:
    case TD_OP_GROUP_NORM:
      return all_f32 (op, 1) && params_ok (op, 1, 2);
    case TD_OP_ADA_LAYER_NORM:
      return all_f32 (op, 3);
    case TD_OP_ROPE:
      return all_f32 (op, 3) && op->src[0]->ndim >= 3;
    case TD_OP_RMS_NORM_ROPE:
      return all_f32 (op, 1) && params_ok (op, 1, 1) && op->src[2]->dtype == TD_F32 && op->src[3]->dtype == TD_F32
             && op->src[0]->ndim >= 3;
    case TD_OP_ATTENTION:
      return all_f32 (op, 1) && (op->src[3] == NULL || op->src[3]->dtype == TD_F32)
             && is_weight_dtype (op->src[1]->dtype) && op->src[2]->dtype == op->src[1]->dtype
             && op->src[0]->shape[3] <= 512 && op->src[2]->shape[3] <= 512
             && op->src[0]->shape[2] <= MAX_GROUPS && op->src[0]->shape[0] <= MAX_GROUPS;
    case TD_OP_CONV2D:
      {
        const td_tensor *y = op->dst;
        int64_t columns = y->shape[0] * y->shape[2] * y->shape[3];
        return all_f32 (op, 1) && params_ok (op, 1, 2) && (columns + MM_TILE - 1) / MM_TILE <= MAX_GROUPS
               && op->p.conv2d.stride_h > 0 && op->p.conv2d.stride_w > 0 && op->p.conv2d.pad_h >= 0
               && op->p.conv2d.pad_w >= 0;
      }
    case TD_OP_UPSAMPLE_NEAREST2X:
    case TD_OP_RESIZE_BILINEAR:
    case TD_OP_RESIZE_BICUBIC:
      return all_f32 (op, 1);
    case TD_OP_EMBEDDING:
      return op->src[0]->dtype == TD_I32 && op->dst->dtype == TD_F32
             && (is_weight_dtype (op->src[1]->dtype) || td_dtype_is_quantized (op->src[1]->dtype));
    case TD_OP_CONCAT:
      {
        size_t size = td_dtype_size (op->src[0]->dtype);
        return size == 4 || size == 2;
      }
    case TD_OP_COPY:
      {
        td_dtype from = op->src[0]->dtype, to = op->dst->dtype;
        if (from == TD_I32 && to == TD_I32)
          return true;
        return is_weight_dtype (from) && is_weight_dtype (to);
      }
    case TD_OP_ARGMAX:
    case TD_OP_SAMPLE:
      return op->src[0]->dtype == TD_F32 && op->dst->dtype == TD_I32;
    case TD_OP_COUNT:
    default:
      return false;
    }
}
