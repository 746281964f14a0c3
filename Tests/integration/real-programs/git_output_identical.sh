#!/usr/bin/env bash
# git behaves exactly as without the preload: init a repository, commit
# files (small and large, text and binary), branch, merge, log, gc (packs,
# deltas: mmap-heavy), fsck, verify-pack, archive. Every command's output
# and the resulting object hashes must be identical with and without the
# preload (the whole script, bash included, runs under it).
set -u
fail() { echo "git_output_identical: $*"; exit 1; }
command -v git >/dev/null || fail "git is not installed (CI installs it); cannot run the git check"
out="$BUILD/git_output_identical"
rm -rf "$out"; mkdir -p "$out"

cat >"$out/session.sh" <<'SH'
set -eu
export HOME=$PWD/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C TZ=UTC
export GIT_AUTHOR_NAME=Ann GIT_AUTHOR_EMAIL=ann@example.org GIT_COMMITTER_NAME=Bob GIT_COMMITTER_EMAIL=bob@example.org
export GIT_AUTHOR_DATE='2024-01-02T03:04:05Z' GIT_COMMITTER_DATE='2024-01-02T03:04:05Z'
mkdir -p home repo && cd repo
g() { git -c init.defaultBranch=main -c pack.threads=1 -c core.bigFileThreshold=512m -c gc.auto=0 "$@"; }
g init -q .
# The window is held by git itself when the preload is active.
if [ -n "${LD_PRELOAD:-}" ]; then
    g -c alias.maps='!grep -c "^400000000000-410000000000 ---p" /proc/$PPID/maps' maps >/dev/null || { echo "no window in git under the preload"; exit 1; }
fi
for i in $(seq 1 40); do seq 1 $((i * 50)) | sed "s/^/file $i: /" > "f$i.txt"; done
head -c 3000000 /dev/zero | tr '\0' 'x' > big.txt
awk 'BEGIN { srand(7); for (i = 0; i < 200000; i++) printf "%c", int(rand() * 256) }' > blob.bin
g add -A && g commit -q -m first && echo "commit 1: $(g rev-parse HEAD)"
for i in $(seq 1 40 | awk 'NR % 3 == 0'); do echo "changed $i" >> "f$i.txt"; done
g rm -q f1.txt && g mv f2.txt moved.txt
g commit -qam second && echo "commit 2: $(g rev-parse HEAD)"
g checkout -q -b side HEAD~1
echo side > side.txt && g add side.txt && g commit -qm side
g checkout -q main && g merge -q --no-edit side && echo "merge: $(g rev-parse HEAD)"
g log --stat --format='%H %an %ae %ad %cn %s' --date=iso
g diff --stat HEAD~2 HEAD
g gc -q --aggressive
g fsck --full --strict 2>&1
g count-objects -v | grep -v -E 'size-pack|size-garbage|size:'
for p in .git/objects/pack/*.idx; do g verify-pack -v "$p" | sort; done
g archive --format=tar HEAD | sha256sum
g cat-file -p HEAD:moved.txt | tail -3
g log --oneline --graph --all
g grep -c 'file 3' HEAD -- 'f3*.txt'
g repack -adq && g fsck --full 2>&1 && g rev-list --objects --all | sort | sha256sum
SH

(cd "$out" && mkdir plain && cd plain && timeout 60 bash ../session.sh >../plain.out 2>&1); plain=$?
(cd "$out" && mkdir pre && cd pre && timeout 60 env LD_PRELOAD="$LIB" bash ../session.sh >../pre.out 2>&1); pre=$?
[ $plain -eq 0 ] || { tail -20 "$out/plain.out"; fail "the git session fails even without the preload (exit $plain)"; }
[ $pre -eq 0 ] || { tail -20 "$out/pre.out"; fail "the git session fails under the preload (exit $pre)"; }
if ! cmp -s "$out/plain.out" "$out/pre.out"; then
    diff "$out/plain.out" "$out/pre.out" | head -30
    fail "git output differs under the preload"
fi
[ "$(wc -l <"$out/pre.out")" -gt 100 ] || { cat "$out/pre.out"; fail "suspiciously little output"; }
echo "git_output_identical: ok ($(wc -l <"$out/pre.out") identical lines)"; head -3 "$out/pre.out"
