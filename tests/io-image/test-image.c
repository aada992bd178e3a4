/* Image I/O: every PNG/JPEG flavour users drop on the board, round trips with
 * metadata, and a bad-input corpus that must fail cleanly with bounded memory. */
#include <glib.h>
#include <glib/gstdio.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "io/image.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* A test pattern with distinct corners: value depends on x and y asymmetrically. */
static uint8_t
pattern (int x, int y, int c)
{
  return (uint8_t) ((x * 37 + y * 11 + c * 80) & 0xff);
}

/* Writes a PNG through libpng directly, in a given colour type and bit depth. */
static char *
write_png_variant (const char *name, int w, int h, int color_type, int depth, bool interlaced)
{
  char *path = tmp_path (name);
  FILE *f = fopen (path, "wb");
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct (png);
  png_init_io (png, f);
  png_set_IHDR (png, info, w, h, depth, color_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (color_type == PNG_COLOR_TYPE_PALETTE)
    {
      png_color palette[4] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 10, 20, 30 } };
      png_byte alpha[4] = { 255, 255, 255, 0 }; /* index 3 fully transparent → white */
      png_set_PLTE (png, info, palette, 4);
      png_set_tRNS (png, info, alpha, 4, NULL);
    }
  png_write_info (png, info);
  if (depth == 16)
    png_set_swap (png); /* rows below are little-endian 16-bit */
  int channels = color_type == PNG_COLOR_TYPE_GRAY ? 1 : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
               : color_type == PNG_COLOR_TYPE_RGBA ? 4 : color_type == PNG_COLOR_TYPE_PALETTE ? 1 : 3;
  int bytes = depth / 8;
  int passes = png_set_interlace_handling (png);
  for (int pass = 0; pass < passes; pass++)
    for (int y = 0; y < h; y++)
      {
        uint8_t row[64 * 8];
        for (int x = 0; x < w; x++)
          for (int c = 0; c < channels; c++)
            {
              int v = color_type == PNG_COLOR_TYPE_PALETTE ? (x + y) % 4
                    : (channels == 2 || channels == 4) && c == channels - 1 ? (x < w / 2 ? 255 : 0)
                    : pattern (x, y, c);
              if (bytes == 2)
                {
                  row[(x * channels + c) * 2] = 0x7f; /* low byte: scaled away */
                  row[(x * channels + c) * 2 + 1] = (uint8_t) v;
                }
              else
                row[x * channels + c] = (uint8_t) v;
            }
        png_write_row (png, row);
      }
  png_write_end (png, NULL);
  png_destroy_write_struct (&png, &info);
  fclose (f);
  return path;
}

static void
test_png_variants (void)
{
  td_error err = { 0 };
  td_image image;
  struct { const char *name; int type, depth; bool interlaced; } cases[] = {
    { "rgb8.png", PNG_COLOR_TYPE_RGB, 8, false }, { "rgb16.png", PNG_COLOR_TYPE_RGB, 16, false },
    { "gray.png", PNG_COLOR_TYPE_GRAY, 8, false }, { "interlaced.png", PNG_COLOR_TYPE_RGB, 8, true },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_png_variant (cases[i].name, 13, 7, cases[i].type, cases[i].depth,
                                                 cases[i].interlaced);
      g_assert_cmpint (td_image_load (path, NULL, &image, &err), ==, TD_OK);
      g_assert_cmpint (image.width, ==, 13);
      g_assert_cmpint (image.height, ==, 7);
      for (int y = 0; y < 7; y++)
        for (int x = 0; x < 13; x++)
          for (int c = 0; c < 3; c++)
            {
              int want = cases[i].type == PNG_COLOR_TYPE_GRAY ? pattern (x, y, 0) : pattern (x, y, c);
              int got = image.rgb[(y * 13 + x) * 3 + c];
              /* 16-bit values scale to 8 bits by rounding: v·257+0x7f → v */
              g_assert_cmpint (abs (got - want), <=, 0);
            }
      td_image_clear (&image);
    }
  /* Palette with a transparent entry, and gray+alpha: transparency composites over white. */
  g_autofree char *palette = write_png_variant ("palette.png", 8, 4, PNG_COLOR_TYPE_PALETTE, 8, false);
  g_assert_cmpint (td_image_load (palette, NULL, &image, &err), ==, TD_OK);
  g_assert_cmpint (image.rgb[0], ==, 255); /* (0,0): index 0, red */
  g_assert_cmpint (image.rgb[1], ==, 0);
  g_assert_cmpint (image.rgb[3 * 3 + 0], ==, 255); /* (3,0): index 3, transparent → white */
  g_assert_cmpint (image.rgb[3 * 3 + 2], ==, 255);
  td_image_clear (&image);
  g_autofree char *gray_alpha = write_png_variant ("gray-alpha.png", 8, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 8, false);
  g_assert_cmpint (td_image_load (gray_alpha, NULL, &image, &err), ==, TD_OK);
  g_assert_cmpint (image.rgb[0], ==, pattern (0, 0, 0)); /* opaque half */
  g_assert_cmpint (image.rgb[7 * 3], ==, 255);           /* transparent half */
  td_image_clear (&image);
}

static void
test_png_round_trip_with_text (void)
{
  td_image image = { 31, 17, g_new (uint8_t, 31 * 17 * 3) };
  for (int i = 0; i < 31 * 17 * 3; i++)
    image.rgb[i] = (uint8_t) (i * 7);
  GString *long_value = g_string_new (NULL);
  for (int i = 0; i < 5000; i++)
    g_string_append (long_value, "ab");
  td_image_text text[] = {
    { (char *) "Software", (char *) "ThinkDiff Studio" },
    { (char *) "thinkdiff:board", (char *) "{\"items\": [{\"text\": \"ünïcödé ✓\"}]}" },
    { (char *) "long", long_value->str },
  };
  g_autofree char *path = tmp_path ("round-trip.png");
  td_error err = { 0 };
  mode_t old_umask = umask (022);
  g_assert_cmpint (td_image_save_png (path, &image, text, 3, &err), ==, TD_OK);
  umask (old_umask);
  /* A saved image gets the umask like any new file, not mkstemp's 0600. */
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);
  td_image back;
  g_assert_cmpint (td_image_load (path, NULL, &back, &err), ==, TD_OK);
  g_assert_cmpint (back.width, ==, 31);
  g_assert_cmpmem (back.rgb, 31 * 17 * 3, image.rgb, 31 * 17 * 3);
  td_image_text *read = NULL;
  size_t n = 0;
  g_assert_cmpint (td_image_png_text (path, NULL, &read, &n, &err), ==, TD_OK);
  g_assert_cmpuint (n, ==, 3);
  for (size_t i = 0; i < 3; i++)
    {
      g_assert_cmpstr (read[i].key, ==, text[i].key);
      g_assert_cmpstr (read[i].value, ==, text[i].value);
    }
  td_image_text_free (read, n);
  /* A bad key is refused before anything is written. */
  td_image_text bad[] = { { (char *) "", (char *) "x" } };
  g_autofree char *bad_path = tmp_path ("bad-key.png");
  g_assert_cmpint (td_image_save_png (bad_path, &image, bad, 1, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_false (g_file_test (bad_path, G_FILE_TEST_EXISTS));
  g_string_free (long_value, TRUE);
  td_image_clear (&back);
  td_image_clear (&image);
}

static double
psnr (const uint8_t *a, const uint8_t *b, size_t n)
{
  double mse = 0;
  for (size_t i = 0; i < n; i++)
    mse += (double) (a[i] - b[i]) * (a[i] - b[i]);
  mse /= n;
  return mse == 0 ? 99 : 10 * log10 (255.0 * 255.0 / mse);
}

static void
test_jpeg_round_trip (void)
{
  const int w = 64, h = 48;
  td_image image = { w, h, g_new (uint8_t, w * h * 3) };
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        image.rgb[(y * w + x) * 3 + c] = (uint8_t) (128 + 100 * sin (x * 0.1 + c) * cos (y * 0.13));
  g_autofree char *path = tmp_path ("smooth.jpg");
  td_error err = { 0 };
  g_assert_cmpint (td_image_save_jpeg (path, &image, 95, "{\"steps\": 28}", &err), ==, TD_OK);
  td_image back;
  g_assert_cmpint (td_image_load (path, NULL, &back, &err), ==, TD_OK);
  g_assert_cmpint (back.width, ==, w);
  g_assert_cmpfloat (psnr (back.rgb, image.rgb, w * h * 3), >, 30.0);
  g_assert_cmpint (td_image_save_jpeg (path, &image, 0, NULL, &err), ==, TD_ERR_INVALID_ARG);
  td_image_clear (&back);
  td_image_clear (&image);
}

/* A JPEG through libjpeg directly: progressive and/or grayscale, optionally with an EXIF orientation. */
static char *
write_jpeg_variant (const char *name, int w, int h, bool progressive, bool gray, int orientation)
{
  char *path = tmp_path (name);
  FILE *f = fopen (path, "wb");
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error (&jerr);
  jpeg_create_compress (&cinfo);
  jpeg_stdio_dest (&cinfo, f);
  cinfo.image_width = w;
  cinfo.image_height = h;
  cinfo.input_components = gray ? 1 : 3;
  cinfo.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults (&cinfo);
  jpeg_set_quality (&cinfo, 100, TRUE);
  if (progressive)
    jpeg_simple_progression (&cinfo);
  jpeg_start_compress (&cinfo, TRUE);
  if (orientation > 0)
    {
      /* Big-endian TIFF with one IFD0 entry: Orientation (0x0112), SHORT, 1, value. */
      uint8_t exif[] = { 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
                         0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (uint8_t) orientation, 0, 0, 0, 0, 0, 0 };
      jpeg_write_marker (&cinfo, JPEG_APP0 + 1, exif, sizeof exif);
    }
  uint8_t row[64 * 3];
  while (cinfo.next_scanline < cinfo.image_height)
    {
      int y = cinfo.next_scanline;
      for (int x = 0; x < w; x++)
        for (int c = 0; c < (gray ? 1 : 3); c++)
          /* Quadrants: top-left dark, top-right bright red-ish, bottom half mid. */
          row[x * (gray ? 1 : 3) + c] = y < h / 2 ? (x < w / 2 ? 20 : 230) : 128;
      JSAMPROW rows[1] = { row };
      jpeg_write_scanlines (&cinfo, rows, 1);
    }
  jpeg_finish_compress (&cinfo);
  jpeg_destroy_compress (&cinfo);
  fclose (f);
  return path;
}

static int
brightness (const td_image *image, int x, int y)
{
  return image->rgb[(y * image->width + x) * 3];
}

static void
test_jpeg_variants_and_orientation (void)
{
  td_error err = { 0 };
  td_image image;
  g_autofree char *progressive = write_jpeg_variant ("progressive.jpg", 32, 16, true, false, 0);
  g_assert_cmpint (td_image_load (progressive, NULL, &image, &err), ==, TD_OK);
  g_assert_cmpint (image.width, ==, 32);
  g_assert_cmpint (abs (brightness (&image, 1, 1) - 20), <, 8);
  td_image_clear (&image);
  g_autofree char *gray = write_jpeg_variant ("gray.jpg", 32, 16, false, true, 0);
  g_assert_cmpint (td_image_load (gray, NULL, &image, &err), ==, TD_OK);
  g_assert_cmpint (abs (image.rgb[(1 * 32 + 30) * 3 + 1] - 230), <, 8);
  td_image_clear (&image);

  /* Stored 32×16: dark top-left quadrant. Where it lands once displayed upright,
   * for each orientation, as (x, y) fractions of the displayed size. */
  struct { int orientation; bool swapped; double dark_x, dark_y; } cases[] = {
    { 1, false, 0.1, 0.1 }, { 2, false, 0.9, 0.1 }, { 3, false, 0.9, 0.9 }, { 4, false, 0.1, 0.9 },
    { 5, true, 0.1, 0.1 },  { 6, true, 0.9, 0.1 },  { 7, true, 0.9, 0.9 },  { 8, true, 0.1, 0.9 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("orientation-%d.jpg", cases[i].orientation);
      g_autofree char *path = write_jpeg_variant (name, 32, 16, false, false, cases[i].orientation);
      g_assert_cmpint (td_image_load (path, NULL, &image, &err), ==, TD_OK);
      g_assert_cmpint (image.width, ==, cases[i].swapped ? 16 : 32);
      g_assert_cmpint (image.height, ==, cases[i].swapped ? 32 : 16);
      int dx = (int) (cases[i].dark_x * image.width), dy = (int) (cases[i].dark_y * image.height);
      g_assert_cmpint (brightness (&image, dx, dy), <, 40);
      td_image_clear (&image);
    }
}

/* As stored (the official code's PIL convert("RGB")): the palette colour and gray value
 * behind transparency, and the JPEG as stored whatever its EXIF orientation. */
static void
test_as_stored (void)
{
  td_error err = { 0 };
  td_image image;
  g_autofree char *palette = write_png_variant ("stored-palette.png", 8, 4, PNG_COLOR_TYPE_PALETTE, 8, false);
  g_assert_cmpint (td_image_load_as_stored (palette, NULL, &image, &err), ==, TD_OK);
  g_assert_cmpint (image.rgb[0], ==, 255);
  g_assert_cmpint (image.rgb[3 * 3 + 0], ==, 10); /* (3,0): index 3, transparent, kept as (10, 20, 30) */
  g_assert_cmpint (image.rgb[3 * 3 + 1], ==, 20);
  g_assert_cmpint (image.rgb[3 * 3 + 2], ==, 30);
  td_image_clear (&image);
  g_autofree char *gray_alpha = write_png_variant ("stored-gray-alpha.png", 8, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 8, false);
  g_assert_cmpint (td_image_load_as_stored (gray_alpha, NULL, &image, &err), ==, TD_OK);
  g_assert_cmpint (image.rgb[7 * 3], ==, pattern (7, 0, 0)); /* transparent half, value kept */
  g_assert_cmpint (image.rgb[7 * 3 + 2], ==, pattern (7, 0, 0));
  td_image_clear (&image);
  g_autofree char *rotated = write_jpeg_variant ("stored-orientation-6.jpg", 32, 16, false, false, 6);
  g_assert_cmpint (td_image_load_as_stored (rotated, NULL, &image, &err), ==, TD_OK);
  g_assert_cmpint (image.width, ==, 32);
  g_assert_cmpint (image.height, ==, 16);
  g_assert_cmpint (brightness (&image, 3, 1), <, 40); /* dark top-left, where it is stored */
  td_image_clear (&image);
  g_autofree char *missing = tmp_path ("absent.png");
  g_assert_cmpint (td_image_load_as_stored (missing, NULL, &image, &err), ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "absent.png"));
}

static long
peak_rss_kb (void)
{
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

static void
test_bad_corpus (void)
{
  g_autofree char *dir = g_build_filename (g_getenv ("TD_TEST_DATA"), "images-bad", NULL);
  g_autofree char *list_path = g_build_filename (dir, "expected.txt", NULL);
  g_autofree char *list = NULL;
  g_assert_true (g_file_get_contents (list_path, &list, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (list, "\n", -1);
  int checked = 0;
  long before = peak_rss_kb ();
  for (int i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0')
        continue;
      char name[64], status[32], phrase[64] = "";
      g_assert_cmpint (sscanf (lines[i], "%63s %31s %63[^\n]", name, status, phrase), ==, 3);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      td_image image;
      td_error err = { 0 };
      td_status st = td_image_load (path, NULL, &image, &err);
      g_test_message ("%s: %s", name, err.message);
      if (g_str_equal (status, "ok"))
        {
          g_assert_cmpint (st, ==, TD_OK);
          td_image_clear (&image);
        }
      else
        {
          const char *expected = g_str_equal (status, "limit") ? "over-limit"
                               : g_str_equal (status, "unsupported") ? "unsupported" : "bad-format";
          g_assert_cmpstr (td_status_name (st), ==, expected);
          g_assert_nonnull (strstr (err.message, name));
          g_assert_nonnull (strstr (err.message, phrase));
          g_assert_null (image.rgb);
        }
      checked++;
    }
  g_assert_cmpint (checked, >=, 10);
  /* Reading the bomb's text chunks stays bounded: the chunk is dropped or refused, never inflated. */
  g_autofree char *bomb = g_build_filename (dir, "ztxt-bomb.png", NULL);
  td_image_text *text = NULL;
  size_t n_text = 0;
  td_error err = { 0 };
  td_status st = td_image_png_text (bomb, NULL, &text, &n_text, &err);
  g_assert_true (st == TD_OK || st == TD_ERR_LIMIT);
  for (size_t i = 0; i < n_text; i++)
    g_assert_cmpuint (strlen (text[i].value), <=, td_image_limits_default ().max_text_bytes);
  td_image_text_free (text, n_text);
  /* Nothing was decoded into the gigabytes the headers claim, nor the zTXt bomb inflated. */
  g_assert_cmpint (peak_rss_kb () - before, <, 64 * 1024);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("td-image-XXXXXX", NULL);
  g_test_add_func ("/image/png-variants", test_png_variants);
  g_test_add_func ("/image/png-round-trip-with-text", test_png_round_trip_with_text);
  g_test_add_func ("/image/jpeg-round-trip", test_jpeg_round_trip);
  g_test_add_func ("/image/jpeg-variants-and-orientation", test_jpeg_variants_and_orientation);
  g_test_add_func ("/image/as-stored", test_as_stored);
  g_test_add_func ("/image/bad-corpus", test_bad_corpus);
  int status = g_test_run ();
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (tmp_dir);
  return status;
}
