#include <glib.h>
#include <math.h>

#include "core/dtype.h"

static void
test_sizes_and_names (void)
{
  g_assert_cmpuint (td_dtype_size (TD_F32), ==, 4);
  g_assert_cmpuint (td_dtype_size (TD_BF16), ==, 2);
  g_assert_cmpuint (td_dtype_size (TD_I64), ==, 8);
  g_assert_cmpstr (td_dtype_safetensors_name (TD_BF16), ==, "BF16");
  g_assert_cmpint (td_dtype_from_safetensors_name ("F16"), ==, TD_F16);
  g_assert_cmpint (td_dtype_from_safetensors_name ("Q4_K"), ==, -1);
}

static void
test_f16_known_values (void)
{
  /* Known encodings: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), inf. */
  g_assert_cmphex (td_f32_to_f16 (1.0f), ==, 0x3c00);
  g_assert_cmphex (td_f32_to_f16 (-2.0f), ==, 0xc000);
  g_assert_cmphex (td_f32_to_f16 (65504.0f), ==, 0x7bff);
  g_assert_cmphex (td_f32_to_f16 (ldexpf (1.0f, -24)), ==, 0x0001);
  g_assert_cmphex (td_f32_to_f16 (1e6f), ==, 0x7c00);
  g_assert_cmpfloat (td_f16_to_f32 (0x3555), ==, 0.333251953125f);
  g_assert_cmpfloat (td_f16_to_f32 (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_true (isnan (td_f16_to_f32 (td_f32_to_f16 (NAN))));
}

static void
test_f16_round_trip_all (void)
{
  /* Every finite half converts to f32 and back to itself. */
  for (uint32_t h = 0; h < 0x10000; h++)
    {
      if ((h & 0x7c00) == 0x7c00)
        continue;
      g_assert_cmphex (td_f32_to_f16 (td_f16_to_f32 ((uint16_t) h)), ==, h);
    }
}

static void
test_bf16_rounding (void)
{
  g_assert_cmphex (td_f32_to_bf16 (1.0f), ==, 0x3f80);
  /* 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (1.0). */
  g_assert_cmphex (td_f32_to_bf16 (1.0f + ldexpf (1.0f, -8)), ==, 0x3f80);
  g_assert_cmphex (td_f32_to_bf16 (1.0f + 3 * ldexpf (1.0f, -8)), ==, 0x3f82);
  g_assert_cmpfloat (td_bf16_to_f32 (0xc040), ==, -3.0f);
  g_assert_true (isnan (td_bf16_to_f32 (td_f32_to_bf16 (NAN))));
}

static void
test_convert_arrays (void)
{
  const int32_t ints[3] = { -7, 0, 123456 };
  float out[3];
  td_convert_to_f32 (out, ints, TD_I32, 3);
  g_assert_cmpfloat (out[0], ==, -7.0f);
  g_assert_cmpfloat (out[2], ==, 123456.0f);
  uint16_t halves[3];
  td_convert_from_f32 (halves, TD_F16, out, 2);
  g_assert_cmphex (halves[1], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dtype/sizes-and-names", test_sizes_and_names);
  g_test_add_func ("/dtype/f16-known-values", test_f16_known_values);
  g_test_add_func ("/dtype/f16-round-trip-all", test_f16_round_trip_all);
  g_test_add_func ("/dtype/bf16-rounding", test_bf16_rounding);
  g_test_add_func ("/dtype/convert-arrays", test_convert_arrays);
  return g_test_run ();
}
