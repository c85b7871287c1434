#!/usr/bin/env bash
# check_excerpts.sh [REPO_ROOT] — the docs quote the code as it is.
#
# The convention (docs/design.md, "Code in the docs"):
#   <!-- excerpt: models/vae/vae.cpp -->      right before a fenced block (blank lines may sit between):
#   ```cpp                                    the block is a copy of that file. Its lines, with leading and
#   ...                                       trailing whitespace removed, must appear as one contiguous run
#   ```                                       of lines of the file (compared the same way; runs of spaces
#                                             inside a line count as one, so comments may re-align). A line that is
#                                             just `...` or `// ...` elides code: the pieces around it must
#                                             each be contiguous and appear in that order.
#   <!-- sketch -->                           the block was written for the doc (not checked); the prose
#                                             says it is a sketch.
# Every ```cpp / ```c++ / ```cmake block under docs/ must carry one of the two markers, so a new excerpt
# cannot escape the check by having none. README.md's markers are checked the same way where present.
# No doc may cite line numbers (`file.cpp:123`, `#L123`): they rot; name the file and the function.
#
# Exit 0 when everything matches; otherwise one line per problem, naming the doc, its line, and the first
# excerpt line that does not match, and exit 1. Needs only bash and a POSIX awk (mawk is fine).
set -u
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$root" || { echo "docs_excerpts: cannot enter '$root'" >&2; exit 1; }

docs=()
[ -f README.md ] && docs+=(README.md)
while IFS= read -r f; do docs+=("$f"); done < <(find docs -name '*.md' -type f | LC_ALL=C sort)
if [ "${#docs[@]}" -eq 0 ]; then
  echo "docs_excerpts: no Markdown files under '$root'" >&2
  exit 1
fi

awk '
function norm(s) {
  sub(/\r$/, "", s)
  sub(/^[ \t]+/, "", s)
  sub(/[ \t]+$/, "", s)
  gsub(/[ \t]+/, " ", s)
  return s
}
function fail(where, msg) {
  print where ": " msg
  errors++
}
# Reads a source file once; returns its line count, or -1 when it cannot be read.
function load(path,   line, n, r) {
  if (path in loaded) return loaded[path]
  n = 0
  while ((r = (getline line < path)) > 0) { n++; src[path, n] = norm(line) }
  close(path)
  if (r < 0 && n == 0) n = -1
  loaded[path] = n
  return n
}
# Checks the block b[1..nb] (doc lines bl[1..nb]) against path, piece by piece.
function check_block(doc, open_line, path,   n, i, ps, pe, from, s, k, len, best, found, first, ok) {
  checked++
  n = load(path)
  if (n < 0) { fail(doc ":" open_line, "excerpt names \"" path "\", which is not a readable file (paths are relative to the repository root)"); return }
  from = 1
  i = 1
  while (i <= nb) {
    # one piece: from i to the next elision line
    ps = i
    while (i <= nb && b[i] != "..." && b[i] != "// ...") i++
    pe = i - 1
    i++
    while (ps <= pe && b[ps] == "") ps++
    while (pe >= ps && b[pe] == "") pe--
    if (ps > pe) continue
    len = pe - ps + 1
    found = 0
    best = 0
    for (s = from; s <= n - 0; s++) {
      k = 0
      while (k < len && s + k <= n && src[path, s + k] == b[ps + k]) k++
      if (k == len) { found = s; break }
      if (k > best) best = k
    }
    if (!found) {
      first = ps + best
      msg = "excerpt of " path " (block opened at line " open_line ") does not match the file; first line that differs: `" braw[first] "`"
      if (best > 0) msg = msg " (the " best " line(s) before it match)"
      else if (from > 1) msg = msg " (not found after the previous piece)"
      fail(doc ":" bl[first], msg)
      return
    }
    from = found + len
  }
}
FNR == 1 {
  if (in_block) fail(prev_file ":" open_line, "fenced block never closed")
  if (pending != "") fail(prev_file ":" pending_line, "marker not followed by a fenced code block")
  in_block = 0; pending = ""; readme = (FILENAME == "README.md"); prev_file = FILENAME
}
{
  raw = $0
  sub(/\r$/, "", raw)
  line = norm(raw)
}
in_block {
  if ((line ~ /^```+$/ || line ~ /^~~~+$/) && substr(line, 1, 1) == fence_char && length(line) >= fence_len) {
    in_block = 0
    if (kind == "excerpt") check_block(FILENAME, open_line, path)
    next
  }
  nb++
  b[nb] = line
  bl[nb] = FNR
  shown = raw
  sub(/^[ \t]+/, "", shown)
  braw[nb] = shown
  next
}
line ~ /^<!--[ \t]*excerpt:[ \t]*[^ \t]+[ \t]*-->$/ {
  if (pending != "") fail(FILENAME ":" pending_line, "marker not followed by a fenced code block")
  p = line
  sub(/^<!--[ \t]*excerpt:[ \t]*/, "", p)
  sub(/[ \t]*-->$/, "", p)
  pending = "excerpt"; pending_path = p; pending_line = FNR
  next
}
line ~ /^<!--[ \t]*sketch[ \t]*-->$/ {
  if (pending != "") fail(FILENAME ":" pending_line, "marker not followed by a fenced code block")
  pending = "sketch"; pending_line = FNR
  next
}
line ~ /^(```|~~~)/ {
  info = line
  fence_char = substr(line, 1, 1)
  match(line, fence_char == "`" ? "^`+" : "^~+")
  fence_len = RLENGTH
  sub(/^[`~]+[ \t]*/, "", info)
  sub(/[ \t].*$/, "", info)
  in_block = 1; nb = 0; open_line = FNR
  kind = pending; path = pending_path; pending = ""
  if (kind == "" && (info == "cpp" || info == "c++" || info == "cc" || info == "hpp" || info == "cmake")) {
    fail(FILENAME ":" FNR, "a ```" info " block needs <!-- excerpt: FILE --> (a copy of FILE) or <!-- sketch --> on the line before it (see docs/design.md, \"Code in the docs\")")
  }
  next
}
{
  if (pending != "" && line != "") {
    fail(FILENAME ":" pending_line, "marker not followed by a fenced code block")
    pending = ""
  }
  if (raw ~ /[A-Za-z0-9_]\.(cpp|hpp|cc|h|c|sh|cmake|txt|py|md|json):[0-9]/ || raw ~ /#L[0-9]+/)
    fail(FILENAME ":" FNR, "cites a line number (" raw "); name the file and the function or class instead")
}
END {
  if (in_block) fail(FILENAME ":" open_line, "fenced block never closed")
  if (pending != "") fail(FILENAME ":" pending_line, "marker not followed by a fenced code block")
  if (errors) { print "docs_excerpts: " errors " problem(s); " (checked + 0) " excerpt(s) checked"; exit 1 }
  print "docs_excerpts: " (checked + 0) " excerpt(s) checked, all match; no line-number citations"
}
' "${docs[@]}"
