/* thinkdiff-board.h — the prompt board: an ordered list of images and texts,
 * the mode that reads it, and the generation settings. Include thinkdiff.h,
 * not this file.
 *
 * A td_board is used from one thread at a time; td_engine_generate only reads
 * it, so a board may be built on one thread and handed to a worker. */
#pragma once

#ifndef TD_INSIDE_THINKDIFF_H
#error "Only <thinkdiff.h> can be included directly."
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum td_board_mode {
  TD_BOARD_LVLM, /* Qwen2-VL reads the board and thinks; its hidden states condition FLUX */
  TD_BOARD_CLIP, /* each image through BLIP-2's vision tower, the texts as one T5 prompt after them */
} td_board_mode;

typedef enum td_board_item_kind {
  TD_BOARD_IMAGE,
  TD_BOARD_TEXT,
} td_board_item_kind;

/* How board images are decoded. */
typedef enum td_board_image_decode {
  TD_IMAGE_DECODE_VIEWER,   /* as an image viewer shows it: EXIF rotation, alpha over white */
  TD_IMAGE_DECODE_OFFICIAL, /* as the official code's PIL convert("RGB"): stored pixels, alpha dropped */
} td_board_image_decode;

/* picture_ids: on for LVLM boards with two or more images, as the official multi-image run. */
#define TD_BOARD_AUTO (-1)

typedef struct td_board_settings {
  int width, height;
  int steps;
  float guidance;
  uint64_t seed;
  /* LVLM thinking */
  int max_new_tokens;   /* 128 */
  float temperature;    /* 0.6 */
  float top_p;          /* 0.9 */
  int picture_ids;      /* "Picture N: " before each image in the chat: 0, 1 or TD_BOARD_AUTO */
  bool tiny_preview;    /* previews through TAEF1 when it is installed (else the linear map) */
  td_board_image_decode image_decode; /* TD_IMAGE_DECODE_VIEWER */
  bool vae_tiling;      /* true: the VAE decodes over 1024 px in tiles; false: whole, as diffusers does */
} td_board_settings;

typedef struct td_board td_board;

#define TD_BOARD_MAX_ITEMS 64
#define TD_BOARD_MAX_TEXT (64 * 1024)

/* 1024×1024, 28 steps, guidance 3.5, seed 0, and the thinking defaults above. */
TD_API td_board_settings td_board_settings_default (void);
/* A new empty board with the default settings; free with td_board_free (NULL is ignored). */
TD_API td_board *td_board_new (td_board_mode mode);
TD_API void td_board_free (td_board *board);
/* Appends an item: value is an image file's path, or the text (copied). */
TD_API td_status td_board_add (td_board *board, td_board_item_kind kind, const char *value, td_error *err);
/* Appends an image given as pixels (pasted, not a file). Boards name images by
 * path (for PNG metadata and Reuse), so the pixels are written once as
 * store_dir/<checksum>-<W>x<H>.png (store_dir is created) and that path is added. */
TD_API td_status td_board_add_pixels (td_board *board, const td_image *image, const char *store_dir, td_error *err);
/* How many items of a kind the board holds. */
TD_API int td_board_count (const td_board *board, td_board_item_kind kind);
TD_API int td_board_n_items (const td_board *board);
/* Item index's kind and value (the image path or the text, owned by the board);
 * false, with nothing set, when index is out of range. kind or value may be NULL. */
TD_API bool td_board_item_at (const td_board *board, int index, td_board_item_kind *kind, const char **value);
/* The mode and the settings, read and replaced whole (validated by td_board_validate). */
TD_API td_board_mode td_board_get_mode (const td_board *board);
TD_API void td_board_set_mode (td_board *board, td_board_mode mode);
TD_API td_board_settings td_board_get_settings (const td_board *board);
TD_API void td_board_set_settings (td_board *board, const td_board_settings *settings);
/* The non-empty text items joined by single spaces: CLIP mode's one prompt (td_free it). */
TD_API char *td_board_joined_text (const td_board *board);
/* LVLM: the text put before the items in the chat. NULL = auto: the official
 * multi-image run's instruction for boards with two or more images, none
 * otherwise; "" = none. Checks length and UTF-8. */
TD_API td_status td_board_set_instruction (td_board *board, const char *instruction, td_error *err);
/* What the auto settings resolve to for this board (the instruction is owned by the board or static). */
TD_API bool td_board_uses_picture_ids (const td_board *board);
TD_API const char *td_board_instruction (const td_board *board);
/* LVLM: paint from this thought instead of thinking. The text (UTF-8) is
 * teacher-forced through Qwen2-VL after the board's prompt: its hidden states are
 * taken as sampling takes them, so the same thought and seed give the same image.
 * It keeps its own length: 1 to max_new_tokens tokens, checked when the board runs
 * (the official runs use exactly 128). At most as long as a board text; NULL clears
 * it. Not part of the board's JSON. */
TD_API td_status td_board_set_thought (td_board *board, const char *thought, td_error *err);
/* The edited thought, or NULL when the board thinks. */
TD_API const char *td_board_thought (const td_board *board);
/* 512×512 for LVLM boards with two or more images (the official multi-image run), else
 * the settings unchanged; for front ends when the user gave no size. */
TD_API void td_board_apply_official_size (td_board *board);
/* "viewer" or "official", and back. */
TD_API bool td_board_image_decode_from_name (const char *name, td_board_image_decode *decode);
TD_API const char *td_board_image_decode_name (td_board_image_decode decode);
/* "lvlm" or "clip", and back. */
TD_API const char *td_board_mode_name (td_board_mode mode);
TD_API bool td_board_mode_from_name (const char *name, td_board_mode *mode);
/* Checks sizes, steps, sampling settings; a board needs at least one item (a text item
 * may be empty: CLIP mode then reads an empty prompt, as the official image-only runs). */
TD_API td_status td_board_validate (const td_board *board, td_error *err);

/* A JSON board file:
 *   {"mode": "lvlm", "items": [{"image": "a.png"}, {"text": "…"}],
 *    "width": 1024, "height": 1024, "steps": 28, "guidance": 3.5, "seed": 7,
 *    "max_new_tokens": 128, "temperature": 0.6, "top_p": 0.9,
 *    "picture_ids": true|false|"auto", "instruction": "…", "image_decode": "viewer"|"official",
 *    "vae_tiling": true}
 * Relative image paths are taken from the board file's folder. */
TD_API td_board *td_board_load_json (const char *path, td_error *err);
/* The same from a JSON text held in memory (a PNG's thinkdiff:board chunk): name
 * appears in messages, relative image paths are taken from dir. */
TD_API td_board *td_board_load_json_data (const char *text, size_t length, const char *name, const char *dir,
                                          td_error *err);
/* The board as such a JSON text (td_free it), for PNG metadata and "Reuse". */
TD_API char *td_board_to_json (const td_board *board);

#ifdef __cplusplus
}
#endif
