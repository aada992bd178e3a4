/* capture.c — the backend-neutral face of step capture and replay (backend.h). */
#include "backend/backend.h"

td_status
td_backend_capture_begin (td_backend *backend, uint64_t key, td_error *err)
{
  return backend->vt->capture_begin != NULL ? backend->vt->capture_begin (backend, key, err) : TD_OK;
}

td_status
td_backend_capture_end (td_backend *backend, td_error *err)
{
  return backend->vt->capture_end != NULL ? backend->vt->capture_end (backend, err) : TD_OK;
}

void
td_backend_capture_drop (td_backend *backend)
{
  if (backend->vt->capture_drop != NULL)
    backend->vt->capture_drop (backend);
}

td_capture_stats
td_backend_capture_stats (td_backend *backend)
{
  return backend->vt->capture_stats != NULL ? backend->vt->capture_stats (backend) : (td_capture_stats) { 0 };
}

void
td_backend_lasting_begin (td_backend *backend)
{
  if (backend->vt->set_lasting != NULL)
    backend->vt->set_lasting (backend, true);
}

void
td_backend_lasting_end (td_backend *backend)
{
  if (backend->vt->set_lasting != NULL)
    backend->vt->set_lasting (backend, false);
}
