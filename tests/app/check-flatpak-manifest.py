#!/usr/bin/env python3
"""Checks the Flatpak manifest against the project's sandbox policy.

Files reach the app through portals, so the only filesystem access granted
is read-only access to the Hugging Face cache (models already downloaded by
huggingface_hub are linked instead of fetched again); the GPU comes through
--device=dri; the network is allowed because models are downloaded in the
app. Prints TAP.
"""
import json
import re
import sys

REQUIRED_ARGS = {
    "--device=dri",
    "--socket=wayland",
    "--socket=fallback-x11",
    "--share=ipc",
    "--share=network",  # in-app model downloads
}
# The one filesystem grant: huggingface_hub's cache, read-only.
ALLOWED_FILESYSTEMS = {"xdg-cache/huggingface:ro"}
# Filesystem grants that would bypass the portals.
FORBIDDEN_FILESYSTEMS = ("home", "host", "host-os", "host-etc", "~")
MIN_GLSLANG = (15, 3, 0)
SUSPICIOUS = ("TODO", "FIXME", "placeholder", "XXXX", "0000000000")

results = []


def check(name, ok, detail=""):
    results.append((name, ok, detail))


def main(path):
    text = open(path, encoding="utf-8").read()
    manifest = json.loads(text)

    check("app id", manifest.get("id") == "io.github.thinkdiff.Studio", manifest.get("id"))
    check("GNOME runtime", manifest.get("runtime") == "org.gnome.Platform"
          and manifest.get("sdk") == "org.gnome.Sdk")
    version = str(manifest.get("runtime-version", "0"))
    check("runtime 47 or later", version.isdigit() and int(version) >= 47, version)
    check("command", manifest.get("command") == "thinkdiff-studio")

    args = manifest.get("finish-args", [])
    missing = sorted(REQUIRED_ARGS - set(args))
    check("required finish-args", not missing, " ".join(missing))
    grants = [a.split("=", 1)[1] for a in args if a.startswith("--filesystem=")]
    bad = [g for g in grants if g.split(":")[0].rstrip("/").split("/")[0] in FORBIDDEN_FILESYSTEMS]
    check("no home or host filesystem access", not bad, " ".join(bad))
    extra = [g for g in grants if g not in ALLOWED_FILESYSTEMS]
    check("only the Hugging Face cache, read-only", not extra, " ".join(extra))
    check("the Hugging Face cache is granted", "xdg-cache/huggingface:ro" in grants)
    check("no plain X11 socket", "--socket=x11" not in args)
    check("no blanket device access", "--device=all" not in args)
    check("no duplicated finish-args", len(args) == len(set(args)))

    modules = manifest.get("modules", [])
    names = [m.get("name") for m in modules if isinstance(m, dict)]
    check("app is the last module", names and names[-1] == "thinkdiff-studio", names)
    app = modules[-1] if modules else {}
    check("app builds with meson", app.get("buildsystem") == "meson")
    check("fuzzers off in the app build", "-Dfuzzing=false" in app.get("config-opts", []))

    glslang = next((m for m in modules if isinstance(m, dict) and m.get("name") == "glslang"), None)
    check("glslang is built", glslang is not None)
    if glslang is not None:
        sources = glslang.get("sources", [])
        pinned = all(
            (s.get("type") == "archive" and len(s.get("sha256", "")) == 64)
            or (s.get("type") == "git" and (s.get("tag") or s.get("commit")))
            for s in sources)
        check("glslang source is pinned", bool(sources) and pinned)
        # The cooperative-matrix kernels need GL_NV_cooperative_matrix2 (glslang
        # 15.1.0) and GL_EXT_bfloat16 (15.3.0); shaders/meson.build builds only
        # what the glslang it finds compiles.
        tags = [s.get("tag", "") for s in sources if s.get("type") == "git"]
        release = [tuple(int(p) for p in t.split(".")) for t in tags if re.fullmatch(r"\d+\.\d+\.\d+", t)]
        check("glslang 15.3.0 or later (GL_NV_cooperative_matrix2, GL_EXT_bfloat16)",
              len(release) == 1 and release[0] >= MIN_GLSLANG, " ".join(tags))
        check("glslang is not shipped", glslang.get("cleanup") == ["*"])

    found = [word for word in SUSPICIOUS if word.lower() in text.lower()]
    check("no placeholders", not found, " ".join(found))

    print(f"1..{len(results)}")
    failed = 0
    for i, (name, ok, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}" + ("" if ok or not detail else f" ({detail})"))
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
