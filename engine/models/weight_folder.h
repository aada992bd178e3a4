/* weight_folder.h — the weight files of one model's folder (Qwen2-VL's, BLIP-2's
 * vision tower's), for choosing among them: the safetensors checkpoint Hugging Face
 * publishes and the GGUF files beside it. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "thinkdiff.h"

/* dir's model.safetensors, else its model.safetensors.index.json; NULL when neither is there. */
char *td_weight_folder_checkpoint (const char *dir);
/* The .gguf files in dir whose names start with prefix (NULL: any), sorted by name,
 * as paths (an array that frees them). Empty when dir cannot be read. */
GPtrArray *td_weight_folder_ggufs (const char *dir, const char *prefix);
/* Whether file names the same file as one of files. */
bool td_weight_folder_contains (const GPtrArray *files, const char *file);
/* TD_ERR_INVALID_ARG: file is not one of choices, the what weight files of dir, listed. */
td_status td_weight_folder_refuse (const char *dir, const GPtrArray *choices, const char *what, const char *file,
                                   td_error *err);
/* The checkpoint then every GGUF of dir (BLIP-2's vision tower's choices), the default first. */
GPtrArray *td_weight_folder_choices (const char *dir);
/* TD_OK when file is one of td_weight_folder_choices (dir); else an error naming file
 * (TD_ERR_NOT_FOUND when it does not exist) and listing the what files there. */
td_status td_weight_folder_check (const char *dir, const char *what, const char *file, td_error *err);
