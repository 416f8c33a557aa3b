#!/usr/bin/env bash
# The Tempest pass list only grows (a ctest, so CI runs it). Every test that
# tempest-pass.txt lists on the base must still be in it (the working tree's),
# unless its removal has a reason: a line "<test id> <reason>" in
# tempest-removed.txt, or a line "tempest-removed: <test id> <reason>" in a
# commit message since the base.
#
# The base: BASE_REF if given, else `git merge-base HEAD origin/main` (or with
# a local main), else HEAD~1. Where there is nothing to compare with (no git, a shallow clone
# without that history, no list on the base) the check passes and says why; CI
# that wants it to bite fetches origin/main with its history.
#
#   pass_list_check.sh [BASE_REF]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LIST="$HERE/tempest-pass.txt"
REMOVED="$HERE/tempest-removed.txt"

skip() {
  echo "tempest pass list check: nothing to compare with ($*); passing"
  exit 0
}
g() { git -C "$HERE" "$@"; }
# The test ids in a list (lines starting with "tempest."), sorted.
tests_in() { { grep -E '^tempest\.' || true; } | sed 's/[[:space:]]*$//' | sort -u; }

g rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"
if [ $# -ge 1 ]; then
  BASE=$(g rev-parse --verify -q "$1^{commit}") || {
    echo "tempest pass list check: no commit $1" >&2
    exit 2
  }
  WHAT="$1"
elif BASE=$(g merge-base HEAD origin/main 2>/dev/null); then
  WHAT="the merge base with origin/main"
elif BASE=$(g merge-base HEAD main 2>/dev/null); then
  WHAT="the merge base with main (no origin/main)"
elif BASE=$(g rev-parse --verify -q "HEAD~1^{commit}"); then
  WHAT="HEAD~1 (no origin/main)"
else
  skip "no origin/main and no HEAD~1"
fi
REL="$(g rev-parse --show-prefix)tempest-pass.txt"
OLD=$(g show "$BASE:$REL" 2>/dev/null) || skip "$REL does not exist on $WHAT"

old_tests=$(printf '%s\n' "$OLD" | tests_in)
new_tests=$([ -f "$LIST" ] && tests_in <"$LIST" || true)
removed=$(comm -23 <(printf '%s\n' "$old_tests") <(printf '%s\n' "$new_tests") | sed '/^$/d')
messages=$(g log --format=%B "$BASE..HEAD" 2>/dev/null || true)

count() { printf '%s' "$1" | grep -c . || true; }
echo "tempest pass list: $(count "$new_tests") tests here," \
  "$(count "$old_tests") on $WHAT ($(g rev-parse --short "$BASE"))"
unexplained=0
while IFS= read -r t; do
  [ -n "$t" ] || continue
  reason=""
  [ -f "$REMOVED" ] && reason=$(awk -v t="$t" '$1 == t && NF >= 2 {
      $1 = ""; sub(/^ +/, ""); print; exit }' "$REMOVED")
  [ -n "$reason" ] || reason=$(printf '%s\n' "$messages" | awk -v t="$t" '
      $1 == "tempest-removed:" && $2 == t && NF >= 3 {
      $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }')
  if [ -n "$reason" ]; then
    echo "removed, with a reason: $t ($reason)"
  else
    echo "REMOVED WITHOUT A REASON: $t"
    unexplained=$((unexplained + 1))
  fi
done <<<"$removed"
if [ "$unexplained" -gt 0 ]; then
  echo "FAIL: $unexplained test(s) left tempest-pass.txt since $WHAT; put them back," \
    "or give each a reason in $(basename "$REMOVED")" >&2
  exit 1
fi
