#!/usr/bin/env python3
"""Checks the translations against the sources, as a translator would meet them.

1. po/POTFILES lists every source file with marked strings, and nothing that
   does not exist.
2. A fresh template is extracted with xgettext (the same keywords as Meson's
   'glib' preset).
3. Every language in po/LINGUAS compiles with `msgfmt --check` and translates
   every message of the fresh template: no untranslated, no fuzzy entries.
Prints TAP.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

KEYWORDS = ["_", "N_", "C_:1c,2", "NC_:1c,2", "g_dcgettext:2", "g_dngettext:2,3",
            "g_dpgettext2:2c,3", "td_error_set:3"]
MARKERS = {
    ".c": re.compile(r'\b(?:N?C?_\s*\(\s*"|td_error_set\s*\([^;]*?")'),
    ".ui": re.compile(r'translatable="yes"'),
}

results = []


def check(name, ok, detail=""):
    results.append((name, ok, detail))


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def main(root):
    po_dir = os.path.join(root, "po")
    with open(os.path.join(po_dir, "POTFILES"), encoding="utf-8") as f:
        listed = [l.strip() for l in f if l.strip() and not l.startswith("#")]

    missing_files = [p for p in listed if not os.path.exists(os.path.join(root, p))]
    check("POTFILES names existing files", not missing_files, " ".join(missing_files))

    marked = []
    for pattern in ("app/*.c", "ui/*.ui", "engine/**/*.c"):
        for path in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
            text = open(path, encoding="utf-8").read()
            if MARKERS[os.path.splitext(path)[1]].search(text):
                marked.append(os.path.relpath(path, root))
    unlisted = [p for p in marked if p not in listed]
    check("every file with marked strings is in POTFILES", not unlisted, " ".join(unlisted))

    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "template.pot")
        files_from = os.path.join(tmp, "POTFILES")
        with open(files_from, "w", encoding="utf-8") as f:
            f.write("\n".join(listed) + "\n")
        cmd = ["xgettext", "--from-code=UTF-8", "--add-comments", "--package-name=thinkdiff-studio",
               "-D", root, "-f", files_from, "-o", pot]
        cmd += [f"--keyword={k}" for k in KEYWORDS]
        result = run(cmd)
        check("xgettext extracts a template", result.returncode == 0 and os.path.exists(pot),
              result.stderr.strip())
        if not os.path.exists(pot):
            return report()

        n_messages = open(pot, encoding="utf-8").read().count("\nmsgid ") - 1
        check("the template has messages", n_messages > 50, str(n_messages))

        with open(os.path.join(po_dir, "LINGUAS"), encoding="utf-8") as f:
            languages = [w for l in f if not l.startswith("#") for w in l.split()]
        check("at least one language", bool(languages))

        for lang in languages:
            po = os.path.join(po_dir, lang + ".po")
            result = run(["msgfmt", "--check", "--statistics", "-o", os.devnull, po])
            check(f"{lang}.po compiles with msgfmt --check", result.returncode == 0,
                  result.stderr.strip())
            for flag, what in (("--only-fuzzy", "fuzzy"), ("--untranslated", "untranslated")):
                result = run(["msgattrib", flag, "--no-obsolete", po])
                entries = result.stdout.count("\nmsgid ")
                # msgattrib prints the header entry when anything else is printed.
                check(f"{lang}.po has no {what} messages", result.returncode == 0 and entries == 0,
                      f"{entries} {what}")
            result = run(["msgcmp", "--no-fuzzy-matching", po, pot])
            check(f"{lang}.po translates every message of the template", result.returncode == 0,
                  result.stderr.strip()[:2000])

    return report()


def report():
    print(f"1..{len(results)}")
    failed = 0
    for i, (name, ok, detail) in enumerate(results, 1):
        line = f"{'ok' if ok else 'not ok'} {i} - {name}"
        print(line)
        if not ok and detail:
            for d in str(detail).splitlines():
                print(f"# {d}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
