#!/usr/bin/env python3
"""The app, the CLI's user commands and the example include only the public
engine headers (thinkdiff.h, thinkdiff-*.h) and their own files; a quoted
include of anything else under engine/ is a reach into the internals.

Usage: check-public-includes.py SOURCE_ROOT   (TAP on stdout)
       check-public-includes.py --self-test    (checks that a reach is caught)
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
# The folders whose sources must stay on the public side, and the quoted
# includes each may use besides the public headers.
FRONT_ENDS = {
    'app': re.compile(r'^td-[a-z0-9-]+\.h$'),
    'engine/cli': re.compile(r'^cli(_[a-z]+)?\.h$'),
    'examples': re.compile(r'^$'),
}
PUBLIC = re.compile(r'^thinkdiff(-[a-z]+)?\.h$')


def reaches(root):
    """(file, line, include) for every include that is neither public nor local."""
    found = []
    for folder, local in FRONT_ENDS.items():
        top = os.path.join(root, folder)
        if not os.path.isdir(top):
            continue
        # engine/cli/dev/ holds the developer tools, which may look inside.
        for name in sorted(os.listdir(top)):
            path = os.path.join(top, name)
            if not os.path.isfile(path) or not name.endswith(('.c', '.h')):
                continue
            with open(path, encoding='utf-8') as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                target = m.group(1)
                if PUBLIC.match(target) or local.match(target):
                    continue
                line = text.count('\n', 0, m.start()) + 1
                found.append((os.path.relpath(path, root), line, target))
    return found


def count_sources(root):
    return sum(1 for folder in FRONT_ENDS if os.path.isdir(os.path.join(root, folder))
               for name in os.listdir(os.path.join(root, folder)) if name.endswith(('.c', '.h')))


def self_test():
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, 'app'))
        os.makedirs(os.path.join(root, 'engine', 'cli', 'dev'))
        with open(os.path.join(root, 'app', 'td-good.c'), 'w') as f:
            f.write('#include "thinkdiff.h"\n#include "td-good.h"\n#include <glib.h>\n')
        with open(os.path.join(root, 'engine', 'cli', 'dev', 'cmd_x.c'), 'w') as f:
            f.write('#include "backend/backend.h"\n')
        clean = reaches(root)
        with open(os.path.join(root, 'engine', 'cli', 'cmd_bad.c'), 'w') as f:
            f.write('#include "cli.h"\n\n#include "pipeline/board.h"\n')
        dirty = reaches(root)
    return clean == [] and dirty == [('engine/cli/cmd_bad.c', 3, 'pipeline/board.h')]


def main():
    if sys.argv[1:] == ['--self-test']:
        ok = self_test()
        print('1..1')
        print(('ok' if ok else 'not ok') + ' 1 - a reach into engine internals is reported, dev/ is not checked')
        return 0 if ok else 1
    root = sys.argv[1]
    n = count_sources(root)
    found = reaches(root)
    print('1..2')
    print(('ok' if n > 0 else 'not ok') + ' 1 - %d front-end sources checked' % n)
    for path, line, target in found:
        print('# %s:%d includes "%s", which is not a public header' % (path, line, target))
    print(('ok' if not found else 'not ok') + ' 2 - only public engine headers are included')
    return 0 if n > 0 and not found else 1


if __name__ == '__main__':
    sys.exit(main())
