/* board.h — the prompt board: an ordered list of images and texts, the mode that
 * reads it, and the generation settings. The app builds one from its cards; the
 * CLI from --image/--text flags or a JSON board file. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "thinkdiff.h"

typedef enum td_board_mode {
  TD_BOARD_LVLM, /* Qwen2-VL reads the board and thinks; its hidden states condition FLUX */
  TD_BOARD_CLIP, /* each image through BLIP-2's vision tower, the texts as one T5 prompt after them */
} td_board_mode;

typedef enum td_board_item_kind {
  TD_BOARD_IMAGE,
  TD_BOARD_TEXT,
} td_board_item_kind;

typedef struct td_board_item {
  td_board_item_kind kind;
  char *value; /* image path, or the text */
} td_board_item;

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

typedef struct td_board {
  td_board_mode mode;
  td_board_item *items;
  int n_items;
  td_board_settings settings;
  /* LVLM: text put before the items in the chat. NULL = auto: the official multi-image
   * run's instruction for boards with two or more images, none otherwise; "" = none. */
  char *instruction;
} td_board;

#define TD_BOARD_MAX_ITEMS 64
#define TD_BOARD_MAX_TEXT (64 * 1024)

td_board_settings td_board_settings_default (void);
td_board *td_board_new (td_board_mode mode);
void td_board_free (td_board *board);
td_status td_board_add (td_board *board, td_board_item_kind kind, const char *value, td_error *err);
int td_board_count (const td_board *board, td_board_item_kind kind);
/* The non-empty text items joined by single spaces: CLIP mode's one prompt. */
char *td_board_joined_text (const td_board *board);
/* The official multi-image run's instruction (what instruction NULL becomes there). */
extern const char td_board_official_instruction[];
/* What the auto settings resolve to for this board. */
bool td_board_uses_picture_ids (const td_board *board);
const char *td_board_instruction (const td_board *board);
/* 512×512 for LVLM boards with two or more images (the official multi-image run), else
 * the settings unchanged; for front ends when the user gave no size. */
void td_board_apply_official_size (td_board *board);
/* Replaces the instruction (NULL = auto); checks length and UTF-8. */
td_status td_board_set_instruction (td_board *board, const char *instruction, td_error *err);
bool td_board_image_decode_from_name (const char *name, td_board_image_decode *decode);
const char *td_board_image_decode_name (td_board_image_decode decode);
const char *td_board_mode_name (td_board_mode mode);
bool td_board_mode_from_name (const char *name, td_board_mode *mode);
/* Checks sizes, steps, sampling settings; a board needs at least one item (a text item
 * may be empty: CLIP mode then reads an empty prompt, as the official image-only runs). */
td_status td_board_validate (const td_board *board, td_error *err);

/* A JSON board file:
 *   {"mode": "lvlm", "items": [{"image": "a.png"}, {"text": "…"}],
 *    "width": 1024, "height": 1024, "steps": 28, "guidance": 3.5, "seed": 7,
 *    "max_new_tokens": 128, "temperature": 0.6, "top_p": 0.9,
 *    "picture_ids": true|false|"auto", "instruction": "…", "image_decode": "viewer"|"official",
 *    "vae_tiling": true}
 * Relative image paths are taken from the board file's folder. */
td_board *td_board_load_json (const char *path, td_error *err);
/* The same from a JSON text held in memory (a PNG's thinkdiff:board chunk): name
 * appears in messages, relative image paths are taken from dir. */
td_board *td_board_load_json_data (const char *text, size_t length, const char *name, const char *dir,
                                   td_error *err);
/* The board as such a JSON text (for PNG metadata and "Reuse"). */
char *td_board_to_json (const td_board *board);
