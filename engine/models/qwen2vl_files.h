/* qwen2vl_files.h — which weight files of Qwen2-VL's folder load: the safetensors
 * checkpoint, a GGUF of the whole model in Hugging Face's names, or llama.cpp's
 * language-model GGUF with its mmproj (the rule is in thinkdiff-models.h, at
 * td_weight_part). The default is the first choice; a folder offering none loads as
 * td_weights_open reads it. config.json and the tokenizer files stay in the folder
 * whatever is chosen. */
#pragma once

#include <glib.h>

#include "thinkdiff.h"

typedef struct td_qwen2vl_source {
  char *weights;     /* what td_weights_open reads; NULL for a pair */
  char *llm, *mmproj; /* llama.cpp's pair; NULL otherwise */
} td_qwen2vl_source;

/* The mmproj that goes with the language model's GGUF at llm; NULL when there is none. */
char *td_qwen2vl_mmproj_for (const char *llm);
/* The files that can be chosen in dir, the default first (an array that frees them). */
GPtrArray *td_qwen2vl_weight_choices (const char *dir);
/* TD_OK when file is one of the choices of dir; else an error naming file and saying
 * why (TD_ERR_NOT_FOUND when it does not exist; an mmproj or a language model
 * without its mmproj is explained). */
td_status td_qwen2vl_check_choice (const char *dir, const char *file, td_error *err);
/* What to load from dir: file (NULL: the default) checked and resolved. */
td_status td_qwen2vl_source_find (const char *dir, const char *file, td_qwen2vl_source *source, td_error *err);
void td_qwen2vl_source_clear (td_qwen2vl_source *source);
