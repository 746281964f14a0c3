#!/usr/bin/env bash
# Every relative link in the project's Markdown (README.md, docs/*.md and
# every other tracked *.md) leads somewhere: the file or directory exists,
# and a #fragment names a heading of the target page (or of the page
# itself), by GitHub's rule for heading anchors: the heading's text (inline
# code, emphasis and links reduced to their text) in lowercase, every
# character that is not a letter, digit, space, '-' or '_' dropped, spaces
# made '-', and "-1", "-2"... added to repeated headings. Links inside code
# (fenced blocks, `inline code`) are not links. http(s): and mailto: links
# are not followed. Prints every broken link as FILE:LINE: [text](target): why.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

cd "$root" || exit 1
# (git's files, tracked or new, when this is a work tree, else every *.md outside build/)
files=$(git ls-files --cached --others --exclude-standard '*.md' 2>/dev/null) || files=
[ -n "$files" ] || files=$(find . -name '*.md' -not -path './build/*' -not -path './.build/*' | sed 's|^\./||' | sort)

"$PY" - $files <<'PY'
import os, re, sys, urllib.parse

def strip_inline(text):
    text = re.sub(r'`([^`]*)`', r'\1', text)                 # inline code: its text
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', text)    # links and images: their text
    text = re.sub(r'<[^>]+>', '', text)                       # inline HTML
    return text

def slug(heading):
    s = strip_inline(heading).strip().lower()
    s = ''.join(c for c in s if c.isalnum() or c in ' -_')
    return s.replace(' ', '-')

def scan(path):
    """(anchors, links): the heading anchors of a page and its links with line numbers."""
    anchors, seen, links = set(), {}, []
    fence = None
    for n, line in enumerate(open(path, encoding='utf-8').read().split('\n'), 1):
        m = re.match(r'^\s*(`{3,}|~{3,})', line)
        if m:
            if fence is None: fence = m.group(1)[0] * len(m.group(1))
            elif m.group(1).startswith(fence): fence = None
            continue
        if fence is not None: continue
        h = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
        if h:
            base = slug(h.group(1))
            k = seen.get(base, 0)
            anchors.add(base if k == 0 else '%s-%d' % (base, k))
            seen[base] = k + 1
        for a in re.findall(r'<a\s+(?:name|id)="([^"]+)"', line):
            anchors.add(a)
        text = re.sub(r'`[^`]*`', lambda m: ' ' * len(m.group(0)), line)   # no links inside inline code
        for m in re.finditer(r'\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)', text):
            links.append((n, line[m.start(1):m.end(1)], m.group(2)))
    return anchors, links

pages = {}
def page(path):
    if path not in pages: pages[path] = scan(path)
    return pages[path]

broken = checked = 0
files = [f for f in sys.argv[1:] if os.path.isfile(f)]   # (not one deleted from the work tree)
for f in files:
    for n, text, target in page(f)[1]:
        if re.match(r'^[a-z][a-z0-9+.-]*:', target): continue     # http:, https:, mailto:
        checked += 1
        file_part, _, frag = target.partition('#')
        dest = os.path.normpath(os.path.join(os.path.dirname(f), urllib.parse.unquote(file_part))) if file_part else f
        why = None
        if not os.path.exists(dest):
            why = 'no such file: ' + dest
        elif frag:
            if os.path.isdir(dest) or not dest.endswith('.md'):
                why = 'a #fragment on something that is not a Markdown page'
            elif frag not in page(dest)[0]:
                why = 'no heading "#%s" in %s' % (frag, dest)
        if why:
            broken += 1
            print('%s:%d: [%s](%s): %s' % (f, n, text, target, why))
print('%d relative links in %d files checked, %d broken' % (checked, len(files), broken))
sys.exit(1 if broken else 0)
PY
