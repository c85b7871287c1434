# tests/cli/common.sh — what every test of the command begins with. A test script starts with
#   source "$(dirname "$0")/common.sh" NAME "$@"        # its arguments: TAPIR MAKE_SYNTHETIC_DATA
# and then has: $tapir; $tmp, a fresh directory removed on exit, holding synthetic IDX data in $tmp/data;
# fail MESSAGE, which prints and counts into $failures; expect_error (below).
set -uo pipefail
tapir=$2
tmp=$(mktemp -d "/tmp/tapir-$1-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$3" "$tmp/data" || { echo "FAIL: cannot make synthetic data"; exit 1; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error RC PATTERN -- command...: exits RC with exactly one stderr line matching PATTERN
expect_error() {
  local rc=$1 pattern=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" -eq "$rc" ] || fail "'$*' exited $got, expected $rc: $(cat "$tmp/err")"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "'$*' printed $(wc -l <"$tmp/err") lines on stderr: $(cat "$tmp/err")"
  grep -q -- "$pattern" "$tmp/err" || fail "'$*': stderr lacks '$pattern': $(cat "$tmp/err")"
}
