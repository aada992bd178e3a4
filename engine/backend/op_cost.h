/* op_cost.h — what one op costs, counted from its shapes (op_cost.c). */
#pragma once

#include "backend/op.h"

typedef struct td_op_work {
  double flops; /* matmul, attention (visible key pairs only), conv2d: 2 per multiply-add */
  double bytes; /* every input and the output, once each */
} td_op_work;

td_op_work td_op_cost (const td_op *op);
