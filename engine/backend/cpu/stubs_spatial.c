/* Placeholders until the spatial CPU kernels land; each returns "unsupported". */
#include "backend/cpu/cpu_kernels.h"
#include "backend/op_check.h"

#define STUB(fn) td_status fn (const td_op *op, td_error *err) \
  { return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: not implemented yet", td_op_name (op->type)); }

STUB (td_cpu_rope)
STUB (td_cpu_attention)
STUB (td_cpu_conv2d)
STUB (td_cpu_upsample_nearest2x)
STUB (td_cpu_resize_bilinear)
STUB (td_cpu_resize_bicubic)
STUB (td_op_check_spatial)
