#include <glib.h>

#include "net/repo_path.h"

static void
test_safe_paths (void)
{
  const char *good[] = { "config.json", "transformer/diffusion_pytorch_model-00001-of-00003.safetensors",
                         "tokenizer_2/spiece.model", "a/b/c/d.txt", "release/thinkdiff_lvlm.pth",
                         "ünïcode/naïve.json", ".gitattributes", "x..y", NULL };
  const char *bad[] = { "", "/etc/passwd", "../x", "a/../b", "a/..", "./a", "a/./b", "a//b", "a/",
                        "a\\b", "..\\x", "a\nb", "a\tb", "a\x7f", "x.part", "d/x.part",
                        "x.part.etag", ".thinkdiff-manifest.json", "sub/.thinkdiff-x", NULL };
  for (size_t i = 0; good[i] != NULL; i++)
    g_assert_true (td_repo_path_is_safe (good[i]));
  for (size_t i = 0; bad[i] != NULL; i++)
    {
      if (td_repo_path_is_safe (bad[i]))
        g_error ("accepted unsafe path '%s'", bad[i]);
    }
  g_assert_false (td_repo_path_is_safe (NULL));
  /* Invalid UTF-8 and over-long paths. */
  g_assert_false (td_repo_path_is_safe ("a\xff.json"));
  g_autofree char *longp = g_strnfill (TD_REPO_PATH_MAX + 1, 'a');
  g_assert_false (td_repo_path_is_safe (longp));
}

static void
test_repo_ids (void)
{
  g_assert_true (td_repo_id_is_valid ("black-forest-labs/FLUX.1-dev"));
  g_assert_true (td_repo_id_is_valid ("Qwen/Qwen2-VL-7B-Instruct"));
  g_assert_true (td_repo_id_is_valid ("madebyollin/taef1"));
  const char *bad[] = { "noslash", "a/b/c", "/a", "a/", "../a", "a/..", "a b/c", "a/b?c",
                        "a/b#c", ".a/b", "a/-b", "a/b%2f", NULL };
  for (size_t i = 0; bad[i] != NULL; i++)
    g_assert_false (td_repo_id_is_valid (bad[i]));
  g_assert_true (td_repo_revision_is_valid ("main"));
  g_assert_true (td_repo_revision_is_valid ("refs/pr/12"));
  g_assert_true (td_repo_revision_is_valid ("0123456789abcdef0123456789abcdef01234567"));
  g_assert_false (td_repo_revision_is_valid ("../main"));
  g_assert_false (td_repo_revision_is_valid (""));
  g_assert_false (td_repo_revision_is_valid ("a b"));
  g_assert_false (td_repo_revision_is_valid ("main?x=1"));
}

static void
test_globs (void)
{
  struct { const char *glob, *path; gboolean match; } cases[] = {
    { "*.json", "config.json", TRUE },
    { "*.json", "vae/config.json", FALSE },             /* '*' stays in one segment */
    { "vae/*.json", "vae/config.json", TRUE },
    { "vae/*.json", "vae/sub/config.json", FALSE },
    { "*.safetensors", "flux1-dev.safetensors", TRUE },
    { "transformer/*.safetensors", "flux1-dev.safetensors", FALSE },
    { "**/thinkdiff_lvlm.pth", "thinkdiff_lvlm.pth", TRUE },
    { "**/thinkdiff_lvlm.pth", "release/thinkdiff_lvlm.pth", TRUE },
    { "**/thinkdiff_lvlm.pth", "a/b/thinkdiff_lvlm.pth", TRUE },
    { "**/thinkdiff_lvlm.pth", "a/b/thinkdiff_clip.pth", FALSE },
    { "model-0000?-of-00003.safetensors", "model-00001-of-00003.safetensors", TRUE },
    { "a*b*c", "aXXbYYc", TRUE },
    { "a*b*c", "aXXbYY", FALSE },
    { "a*/c", "ab/c", TRUE },
    { "a*/c", "ab/x/c", FALSE },
    { "tokenizer_2/spiece.model", "tokenizer_2/spiece.model", TRUE },
    { "tokenizer_2/spiece.model", "tokenizer_2/spiece_model", FALSE },
    { "*", "", TRUE },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    if (td_repo_glob_match (cases[i].glob, cases[i].path) != cases[i].match)
      g_error ("glob '%s' on '%s' should %s", cases[i].glob, cases[i].path,
               cases[i].match ? "match" : "not match");
  /* Pathological pattern: bounded time, no recursion blow-up. */
  g_autofree char *path = g_strnfill (4000, 'a');
  g_assert_false (td_repo_glob_match ("*a*a*a*a*a*a*a*a*a*a*b", path));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/repo-path/safe-paths", test_safe_paths);
  g_test_add_func ("/net/repo-path/repo-ids", test_repo_ids);
  g_test_add_func ("/net/repo-path/globs", test_globs);
  return g_test_run ();
}
