/* Placeholders until the dense CPU kernels land; each returns "unsupported". */
#include "backend/cpu/cpu_kernels.h"
#include "backend/op_check.h"

#define STUB(fn) td_status fn (const td_op *op, td_error *err) \
  { return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: not implemented yet", td_op_name (op->type)); }

STUB (td_cpu_matmul)
STUB (td_cpu_binary)
STUB (td_cpu_scale)
STUB (td_cpu_unary)
STUB (td_cpu_layer_norm)
STUB (td_cpu_rms_norm)
STUB (td_cpu_group_norm)
STUB (td_cpu_softmax)
STUB (td_cpu_embedding)
STUB (td_cpu_concat)
STUB (td_cpu_copy)
STUB (td_cpu_argmax)
STUB (td_cpu_sample)
STUB (td_op_check_dense)
