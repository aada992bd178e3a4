/* vulkan_backend.c — the td_backend_vtable of the Vulkan backend. */
#include "backend/vulkan/vulkan_ops.h"
#include "backend/vulkan/vulkan_replay.h"
#include "backend/vulkan/vulkan_coopmat2.h"

#include <stdlib.h>

static bool
vk_supports (td_backend *backend, const td_op *op)
{
  return td_vk_supports_op (backend->impl, op);
}

static td_status
vk_run (td_backend *backend, const td_op *op, td_error *err)
{
  td_vk_context *ctx = backend->impl;
  td_status status = td_vk_check_alive (ctx, err);
  if (status != TD_OK)
    return status;
  status = td_vk_run_op (ctx, op, err);
  if (status != TD_OK)
    td_error_prefix (err, "%s on %s", td_op_name (op->type), ctx->info.name);
  return status;
}

static td_status
vk_sync (td_backend *backend, td_error *err)
{
  return td_vk_sync (backend->impl, err);
}

static void
vk_destroy (td_backend *backend)
{
  td_vk_context *ctx = backend->impl;
  if (!ctx->lost)
    td_vk_sync (ctx, NULL);
  ctx->backend = NULL;
  td_vk_context_unref (ctx);
  free (backend);
}

/* Cooperative matrices, real or emulated, take f16 inputs. */
static bool
vk_reduced_precision (td_backend *backend)
{
  td_vk_context *ctx = backend->impl;
  return ctx->info.coopmat_enabled || ctx->coopmat_emulate;
}

static const td_backend_vtable vulkan_vtable = {
  .name = "vulkan",
  .buffer_new = td_vk_buffer_new,
  .write = td_vk_write,
  .read = td_vk_read,
  .supports = vk_supports,
  .run = vk_run,
  .sync = vk_sync,
  .destroy = vk_destroy,
  .reduced_precision = vk_reduced_precision,
  .read_begin = td_vk_read_begin,
  .read_poll = td_vk_read_poll,
  .read_end = td_vk_read_end,
  .capture_begin = td_vk_capture_begin,
  .capture_end = td_vk_capture_end,
  .capture_drop = td_vk_capture_drop,
  .capture_stats = td_vk_capture_stats,
  .set_lasting = td_vk_set_lasting,
};

td_backend *
td_backend_vulkan_new (int device_index_or_minus1, td_error *err)
{
  td_backend *backend = calloc (1, sizeof *backend);
  if (backend == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory creating the Vulkan backend");
      return NULL;
    }
  td_vk_context *ctx = td_vk_context_new (device_index_or_minus1, err);
  if (ctx == NULL)
    {
      free (backend);
      return NULL;
    }
  ctx->backend = backend;
  backend->vt = &vulkan_vtable;
  backend->impl = ctx;
  /* The VK_NV_cooperative_matrix2 kernel is checked before any use (vulkan_coopmat2.h). */
  if (ctx->info.coopmat2_enabled)
    td_vk_coopmat2_self_test (backend);
  if (td_vk_coopmat2_env_mode (getenv ("TD_VULKAN_COOPMAT2")) == TD_VK_COOPMAT2_REQUIRE && !ctx->info.coopmat2_enabled)
    {
      td_error_set (err, TD_ERR_UNSUPPORTED, "TD_VULKAN_COOPMAT2=require, but %s does not run the "
                    "VK_NV_cooperative_matrix2 kernel: %s", ctx->info.name, ctx->info.coopmat2_why);
      vk_destroy (backend);
      return NULL;
    }
  return backend;
}

const td_vulkan_device_info *
td_vulkan_backend_device (td_backend *backend)
{
  td_vk_context *ctx = backend->impl;
  return &ctx->info;
}
