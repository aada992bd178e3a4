/* cli_backend.h — the --backend option shared by the commands that run models. */
#pragma once

#include "backend/backend.h"

/* "cpu", "vulkan", or "auto"/NULL: a Vulkan GPU when there is one (not a CPU
 * implementation such as lavapipe), else the CPU reference backend. */
td_backend *td_cli_backend_new (const char *name, td_error *err);
