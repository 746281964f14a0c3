#!/usr/bin/env bash
# Every ```c block of README.md and docs/*.md compiles against CShim/include,
# and the example programs do what the documentation shows. The convention
# (also in docs/testing.md):
#   - A block with a main() is a program. It is compiled as it stands
#     ($CC -std=gnu11 -Wall -Werror), linked with libc only, plus the library
#     ($LIB, as `pkg-config --libs mapwarden` would) when it calls a
#     mapwarden_* function without declaring it weak, and -ldl when it calls
#     dlsym or dlopen. It is named by its first-line comment ("/* where.c: …"
#     is ./where). Then it is run:
#       - when the next fenced block (before any other C block or heading) is
#         a shell transcript (its first line starts with "$ "), the transcript
#         is replayed in a scratch directory that holds the program, its
#         source and build/libmapwarden.so (a link to $LIB), with no
#         MAPWARDEN_* variable set; "cc" there is $CC; paths under /var/tmp/
#         and /dev/shm/ (and the /dev/shm file of a window configured
#         ":shared") are moved into the scratch directory. The output, both
#         streams, must be the transcript's lines that do not start with
#         "$ ", once the leak report the library prints at exit ("==PID==
#         mapwarden: … leaked" to "SUMMARY: mapwarden: …") is taken out;
#       - otherwise it runs under LD_PRELOAD=$LIB with the default window and
#         must exit with 0.
#   - Any other block is a fragment, compiled (not linked) after
#     "#define _GNU_SOURCE" and #include of mapwarden.h, sys/mman.h, stdio.h,
#     stdlib.h, string.h, errno.h, dlfcn.h and unistd.h: at file scope, or,
#     if that fails, as the body of a function (-Wall -Werror, unused
#     variables and functions allowed).
#   - A block that cannot compile has "<!-- not compiled: REASON -->" on
#     the line (or the last non-blank line) right before its fence; it is
#     listed with its reason. Such a comment before anything but a ```c
#     block is an error.
# Every block is printed with its FILE:LINE and what was done; a failure
# names the block and shows the compiler's or the program's output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
for v in $(env | sed -n 's/^\(MAPWARDEN_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD
[ -r "$LIB" ] || { echo "FAIL: no library at $LIB (make lib)"; exit 1; }
LIB=$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/docs_examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export LIB CC TMPDIR_DOCS="$tmp"

cd "$root" || exit 1
"$PY" - README.md docs/*.md <<'PY'
import os, re, shlex, subprocess, sys

LIB, TMP = os.environ['LIB'], os.environ['TMPDIR_DOCS']
CC = shlex.split(os.environ['CC'])    # (as run.sh uses it: words)
ROOT = os.getcwd()
INCLUDE = os.path.join(ROOT, 'CShim', 'include')
PRELUDE = ('#define _GNU_SOURCE\n' + ''.join('#include <%s>\n' % h for h in
           ('mapwarden.h', 'sys/mman.h', 'stdio.h', 'stdlib.h', 'string.h', 'errno.h', 'dlfcn.h', 'unistd.h')))
MARK = re.compile(r'^\s*<!--\s*not compiled:\s*(.*?)\s*-->\s*$')

def blocks(path):
    """A Markdown file in order: its fenced blocks (line of the fence, lang, text, the "not compiled"
    reason before it or None), its headings and its "not compiled" comments."""
    out, lines = [], open(path, encoding='utf-8').read().split('\n')
    i = 0
    last_text = None          # the last non-blank line outside blocks
    while i < len(lines):
        m = re.match(r'^(\s*)(`{3,})\s*([^`\s]*)', lines[i])
        if not m:
            if lines[i].strip():
                if re.match(r'^#{1,6} ', lines[i]): out.append({'heading': True, 'line': i + 1})
                elif MARK.match(lines[i]): out.append({'marker_line': i + 1})
                last_text = lines[i]
            i += 1
            continue
        fence, start, body = m.group(2), i, []
        i += 1
        while i < len(lines) and not re.match(r'^\s*' + fence + r'`*\s*$', lines[i]):
            body.append(lines[i][len(m.group(1)):] if lines[i].startswith(m.group(1)) else lines[i])
            i += 1
        mk = MARK.match(last_text or '')
        out.append({'line': start + 1, 'lang': m.group(3).lower(), 'text': '\n'.join(body) + '\n',
                    'marker': mk.group(1) if mk else None})
        last_text = lines[start]
        i += 1
    return out

def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    return p.returncode, p.stdout

def indent(text, n=40):
    ls = text.rstrip('\n').split('\n')
    return '\n'.join('    | ' + l for l in ls[:n]) + ('\n    | …' if len(ls) > n else '')

def without_leak_reports(text):
    out, skipping = [], False
    for l in text.split('\n'):
        if re.match(r'^==\d+== mapwarden: \d+ leaked mapping', l): skipping = True
        if not skipping: out.append(l)
        elif l.startswith('SUMMARY: mapwarden: '): skipping = False
    return out

def trimmed(ls):
    ls = [l.rstrip() for l in ls]
    while ls and not ls[-1]: ls.pop()
    while ls and not ls[0]: ls.pop(0)
    return ls

def transcript(name, src, code, tr):
    """Replays a transcript block; returns None or a reason."""
    work = os.path.join(TMP, 'run-' + name)
    os.makedirs(os.path.join(work, 'build'), exist_ok=True)
    os.makedirs(os.path.join(work, 'var-tmp'), exist_ok=True)
    os.makedirs(os.path.join(work, 'dev-shm'), exist_ok=True)
    os.symlink(LIB, os.path.join(work, 'build', 'libmapwarden.so'))
    open(os.path.join(work, name + '.c'), 'w').write(code)
    subprocess.run(['cp', src, os.path.join(work, name)], check=True)
    script, expected = ['cc() { command $CC "$@"; }'], []
    for l in tr.rstrip('\n').split('\n'):
        if not l.startswith('$ '):
            expected.append(l)
            continue
        cmd = l[2:]
        def shared(m):
            window = (m.group(2) or 'default').lower()
            return '%s:shared=%s/dev-shm/mapwarden.%s' % (m.group(1), work, window)
        cmd = re.sub(r'(MAPWARDEN_WINDOW(?:_(\w+))?=\S+?):shared(?=[\s,]|$)', shared, cmd)
        cmd = cmd.replace('/var/tmp/', work + '/var-tmp/').replace('/dev/shm/', work + '/dev-shm/')
        script.append('{ %s\n} 2>&1' % cmd)
    open(os.path.join(work, 'transcript.sh'), 'w').write('\n'.join(script) + '\n')
    status, out = run(['timeout', '120', 'bash', 'transcript.sh'], cwd=work, stdin=subprocess.DEVNULL)
    got, want = trimmed(without_leak_reports(out)), trimmed(expected)
    if got != want:
        return ('the transcript\'s output differs\n    expected:\n%s\n    got (leak reports taken out):\n%s\n    the replayed script:\n%s'
                % (indent('\n'.join(want)), indent('\n'.join(got)), indent('\n'.join(script[1:]))))
    return None

counts = {'program': 0, 'transcript': 0, 'fragment': 0, 'marked': 0}
failures = []
seen = 0
for path in sys.argv[1:]:
    items = blocks(path)
    for k, b in enumerate(items):
        if 'marker_line' in b:
            nxt = next((x for x in items[k + 1:] if 'marker_line' not in x), None)
            if not nxt or nxt.get('lang') != 'c' or nxt.get('heading'):
                failures.append('%s:%d' % (path, b['marker_line']))
                print('FAIL     %s:%d: a "not compiled" comment that no ```c block follows' % (path, b['marker_line']))
            continue
        if b.get('heading') or b['lang'] != 'c':
            continue
        seen += 1
        where = '%s:%d' % (path, b['line'])
        code = b['text']
        if b['marker']:
            counts['marked'] += 1
            print('MARKED   %s: not compiled: %s' % (where, b['marker']))
            continue
        tag = re.sub(r'[^A-Za-z0-9]+', '_', '%s_%d' % (os.path.splitext(path)[0], b['line']))
        linemark = '#line %d "%s"\n' % (b['line'] + 1, path)
        if re.search(r'^\s*(?:int|void)\s+main\s*\(', code, re.M):
            m = re.match(r'\s*/\*\s*([A-Za-z0-9_-]+)\.c:', code)
            name = m.group(1) if m else 'doc_' + tag
            src = os.path.join(TMP, name + '.c')
            exe = os.path.join(TMP, name)
            open(src, 'w').write(linemark + code)
            libs = []
            if re.search(r'\bmapwarden_\w+\s*\(', code) and '#pragma weak' not in code: libs.append(LIB)
            if re.search(r'\bdl(sym|open)\s*\(', code): libs.append('-ldl')
            status, out = run(CC + ['-std=gnu11', '-Wall', '-Werror', '-I', INCLUDE, '-o', exe, src] + libs)
            if status != 0:
                failures.append(where)
                print('FAIL     %s: program %s.c does not compile or link\n%s' % (where, name, indent(out)))
                continue
            counts['program'] += 1
            nxt = next((x for x in items[k + 1:] if 'marker_line' not in x), None)
            tr = nxt if nxt and not nxt.get('heading') and nxt.get('lang') == '' and nxt['text'].startswith('$ ') else None
            if tr:
                why = transcript(name, exe, code, tr['text'])
                if why:
                    failures.append(where)
                    print('FAIL     %s: program %s.c, transcript at %s:%d: %s' % (where, name, path, tr['line'], why))
                    continue
                counts['transcript'] += 1
                print('ok       %s: program %s.c compiled, linked%s; its transcript (%s:%d) gives the output shown'
                      % (where, name, ' with ' + ' '.join(os.path.basename(l) for l in libs) if libs else '', path, tr['line']))
            else:
                env = {k: v for k, v in os.environ.items() if not k.startswith('MAPWARDEN_')}
                env['LD_PRELOAD'] = LIB
                status, out = run(['timeout', '60', exe], env=env, cwd=TMP, stdin=subprocess.DEVNULL)
                if status != 0:
                    failures.append(where)
                    print('FAIL     %s: program %s.c exits with %d under LD_PRELOAD\n%s' % (where, name, status, indent(out)))
                    continue
                print('ok       %s: program %s.c compiled, linked%s; runs under LD_PRELOAD, exit 0'
                      % (where, name, ' with ' + ' '.join(os.path.basename(l) for l in libs) if libs else ''))
            continue
        # A fragment: at file scope, else as a function body.
        flags = CC + ['-std=gnu11', '-Wall', '-Werror', '-Wno-unused-variable', '-Wno-unused-but-set-variable',
                 '-Wno-unused-function', '-I', INCLUDE, '-c', '-o', os.devnull]
        errors = []
        for scope, text in (('file scope', PRELUDE + linemark + code),
                            ('function body', PRELUDE + 'void docs_fragment_%s(void)\n{\n%s%s}\n' % (tag, linemark, code))):
            src = os.path.join(TMP, 'fragment_%s.c' % tag)
            open(src, 'w').write(text)
            status, out = run(flags + [src])
            if status == 0:
                counts['fragment'] += 1
                print('ok       %s: fragment compiled at %s' % (where, scope))
                break
            errors.append('%s:\n%s' % (scope, indent(out, 15)))
        else:
            failures.append(where)
            print('FAIL     %s: fragment does not compile (tried at file scope and as a function body)\n%s'
                  % (where, '\n'.join(errors)))

print('%d C blocks: %d programs compiled, linked and run (%d with their transcript), %d fragments compiled, '
      '%d marked not compiled; %d failed%s' % (seen, counts['program'], counts['transcript'], counts['fragment'],
      counts['marked'], len(failures), (': ' + ' '.join(failures)) if failures else ''))
if seen == 0:
    print('FAIL: no ```c block found: the extraction is broken')
    sys.exit(1)
sys.exit(1 if failures else 0)
PY
