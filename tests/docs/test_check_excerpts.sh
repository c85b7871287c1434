#!/usr/bin/env bash
# The docs checker (check_excerpts.sh) on a small repository written here: an exact excerpt passes (also
# re-indented, and with an elision); an altered line, a missing file, an unmarked ```cpp block, a stray
# marker and a `file.cpp:NN` citation each fail with the doc's name and line and the offending text.
#   test_check_excerpts.sh CHECK_EXCERPTS_SH
set -uo pipefail
check=$1
tmp=$(mktemp -d /tmp/tapir-docs-check-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/repo/docs" "$tmp/repo/src"
cat >"$tmp/repo/src/a.cpp" <<'EOF'
int f(int x) {
  int y = x * 2;    // double it
  return y + 1;
}

int g() {
  return f(3);
}
EOF
good_doc() {
  cat <<'EOF'
# A doc

From `src/a.cpp`:

<!-- excerpt: src/a.cpp -->
```cpp
int y = x * 2;  // double it
    return y + 1;
```

Two pieces, in order:

<!-- excerpt: src/a.cpp -->
```cpp
int f(int x) {
// ...
int g() {
  return f(3);
```

<!-- sketch -->
```cpp
anything at all, not checked
```

```sh
build/tapir train vae --out runs/x   # shell blocks need no marker
```

A longer fence shows the convention itself, unchecked:

````md
<!-- excerpt: src/none.cpp -->
```cpp
not code
```
````
EOF
}

# run EXPECTED_RC PATTERN: the checker's exit code and a line of its output
run() {
  local rc=$1 pattern=$2
  bash "$check" "$tmp/repo" >"$tmp/out" 2>&1
  local got=$?
  [ "$got" -eq "$rc" ] || fail "exit $got, expected $rc, for: $(head -c 300 "$tmp/doc_now")
--- output: $(cat "$tmp/out")"
  grep -qF -- "$pattern" "$tmp/out" || fail "output lacks '$pattern': $(cat "$tmp/out")"
}
put() { cp "$1" "$tmp/repo/docs/d.md"; cp "$1" "$tmp/doc_now"; }

good_doc >"$tmp/good.md"
put "$tmp/good.md"
run 0 "2 excerpt(s) checked, all match"

# One character changed in an excerpt: named by doc, line and text.
sed 's/return y + 1;/return y + 2;/' "$tmp/good.md" >"$tmp/bad.md"
put "$tmp/bad.md"
run 1 'docs/d.md:8: excerpt of src/a.cpp (block opened at line 6) does not match the file; first line that differs: `return y + 2;` (the 1 line(s) before it match)'

# The file changed under the doc: the same check fails from the other side.
put "$tmp/good.md"
sed -i 's/double it/twice x/' "$tmp/repo/src/a.cpp"
run 1 'docs/d.md:7: excerpt of src/a.cpp (block opened at line 6) does not match the file; first line that differs: `int y = x * 2;  // double it`'
git_restore() { sed -i 's/twice x/double it/' "$tmp/repo/src/a.cpp"; }
git_restore
run 0 "all match"

# Pieces out of order fail.
awk '/^int f\(int x\) \{$/ { print "int g() {"; next } /^int g\(\) \{$/ { print "int f(int x) {"; next } { print }' \
  "$tmp/good.md" >"$tmp/order.md"
put "$tmp/order.md"
run 1 "excerpt of src/a.cpp"

# A path that is not there.
sed 's#<!-- excerpt: src/a.cpp -->#<!-- excerpt: src/gone.cpp -->#' "$tmp/good.md" >"$tmp/gone.md"
put "$tmp/gone.md"
run 1 'excerpt names "src/gone.cpp", which is not a readable file'

# A ```cpp block with no marker.
sed '/<!-- sketch -->/d' "$tmp/good.md" >"$tmp/unmarked.md"
put "$tmp/unmarked.md"
run 1 'docs/d.md:21: a ```cpp block needs <!-- excerpt: FILE -->'

# A marker with prose, not a block, after it.
{ cat "$tmp/good.md"; printf '\n<!-- excerpt: src/a.cpp -->\nSome prose.\n'; } >"$tmp/stray.md"
put "$tmp/stray.md"
run 1 "marker not followed by a fenced code block"

# Line-number citations, in prose or in a table.
{ cat "$tmp/good.md"; printf '\n| f | `src/a.cpp:2-3` |\n'; } >"$tmp/lines.md"
put "$tmp/lines.md"
run 1 'cites a line number'
{ cat "$tmp/good.md"; printf '\nSee [f](https://example.org/src/a.cpp#L2).\n'; } >"$tmp/anchor.md"
put "$tmp/anchor.md"
run 1 'cites a line number'

# README.md: its markers are checked too, its unmarked blocks are not required to have one.
put "$tmp/good.md"
printf '# R\n\n```cpp\nint main() {}\n```\n\n<!-- excerpt: src/a.cpp -->\n```cpp\nreturn y + 3;\n```\n' \
  >"$tmp/repo/README.md"
run 1 'README.md:9: excerpt of src/a.cpp'
rm "$tmp/repo/README.md"

if [ "$failures" -ne 0 ]; then
  echo "docs_excerpts_selftest: $failures failure(s)"
  exit 1
fi
echo "docs_excerpts_selftest: all cases behave"
