#!/usr/bin/env bash
# `tapir latent | interpolate | encode` end to end on synthetic data with labels: the files they write
# (PNG, CSV rows, labels in range), the N_z = 2 and the PCA (N_z > 2) paths, and bad flags refused with
# one line on stderr.
#   test_latent.sh TAPIR MAKE_SYNTHETIC_DATA
source "$(dirname "$0")/common.sh" latent "$@"
is_png() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "211PNG" ]; }
# png_size FILE: "WIDTH HEIGHT" from the IHDR chunk
png_size() { echo "$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4}') $(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4}')"; }

# IDX label files (labels i mod 10) beside the synthetic images: 600 train, 200 test.
"$2" "$tmp/data" --labels || { echo "FAIL: cannot write the synthetic labels"; exit 1; }

small=(--data "$tmp/data" --hidden 16 --eval-every 600 --samples 600 --seed 3 --progress none)
"$tapir" train vae "${small[@]}" --latent 2 --out "$tmp/z2" >/dev/null 2>"$tmp/err" || fail "train z2: $(cat "$tmp/err")"
"$tapir" train vae "${small[@]}" --latent 5 --out "$tmp/z5" >/dev/null 2>"$tmp/err" || fail "train z5: $(cat "$tmp/err")"

# latent: the PNG and its CSV, N_z = 2 (the codes) and N_z = 5 (PCA).
"$tapir" latent "$tmp/z2" -o "$tmp/l2.png" 2>"$tmp/err" || fail "latent z2: $(cat "$tmp/err")"
is_png "$tmp/l2.png" || fail "l2.png is not a PNG"
[ "$(head -1 "$tmp/l2.csv")" = "index,label,x,y" ] || fail "l2.csv header: $(head -1 "$tmp/l2.csv")"
[ "$(wc -l <"$tmp/l2.csv")" -eq 201 ] || fail "l2.csv should have 200 rows: $(wc -l <"$tmp/l2.csv")"
awk -F, 'NR > 1 && ($2 < 0 || $2 > 9 || $2 != ($1 % 10) || NF != 4) { bad = 1 } END { exit bad }' "$tmp/l2.csv" ||
  fail "l2.csv labels or fields wrong: $(sed -n 2,4p "$tmp/l2.csv")"
"$tapir" latent "$tmp/z5" --split train --n 50 -o "$tmp/l5.png" 2>"$tmp/err" || fail "latent z5: $(cat "$tmp/err")"
is_png "$tmp/l5.png" || fail "l5.png is not a PNG"
[ "$(wc -l <"$tmp/l5.csv")" -eq 51 ] || fail "l5.csv should have 50 rows: $(wc -l <"$tmp/l5.csv")"
# PCA's projections are centred: their mean is 0.
awk -F, 'NR > 1 { sx += $3; sy += $4; n++ } END { exit !(sx / n < 1e-3 && sx / n > -1e-3 && sy / n < 1e-3 && sy / n > -1e-3) }' \
  "$tmp/l5.csv" || fail "l5.csv: PCA projections not centred"

# encode: one row per point of the split, N_z codes, labels.
"$tapir" encode "$tmp/z5" -o "$tmp/codes.csv" 2>"$tmp/err" || fail "encode: $(cat "$tmp/err")"
[ "$(head -1 "$tmp/codes.csv")" = "index,label,mu_1,mu_2,mu_3,mu_4,mu_5" ] || fail "codes.csv header: $(head -1 "$tmp/codes.csv")"
[ "$(wc -l <"$tmp/codes.csv")" -eq 201 ] || fail "codes.csv should have 200 rows"
awk -F, 'NR > 1 && (NF != 7 || $2 != ($1 % 10)) { bad = 1 } END { exit bad }' "$tmp/codes.csv" || fail "codes.csv rows"
"$tapir" encode "$tmp/z2" --split train -o "$tmp/train.csv" 2>/dev/null || fail "encode --split train"
[ "$(wc -l <"$tmp/train.csv")" -eq 601 ] || fail "train.csv should have 600 rows"
# latent's CSV holds encode's codes when N_z = 2.
[ "$(sed -n 2,201p "$tmp/l2.csv")" = "$("$tapir" encode "$tmp/z2" -o "$tmp/c2.csv" 2>/dev/null; sed -n 2,201p "$tmp/c2.csv")" ] ||
  fail "latent's points differ from encode's codes at N_z = 2"

# interpolate: two pairs, 5 steps: 7 images a row (2 px border, zoom 2, 6 px gaps around the inputs).
"$tapir" interpolate "$tmp/z5" --from 3,1 --to 7,9 --steps 5 -o "$tmp/i.png" 2>"$tmp/err" || fail "interpolate: $(cat "$tmp/err")"
is_png "$tmp/i.png" || fail "i.png is not a PNG"
[ "$(png_size "$tmp/i.png")" = "420 118" ] || fail "i.png is $(png_size "$tmp/i.png"), expected 420 118"
"$tapir" interpolate "$tmp/z2" --from 0 --to 199 -o "$tmp/i2.png" 2>/dev/null || fail "interpolate z2"

# reconstruct: data above reconstructions, a gap after each pair of lines.
"$tapir" reconstruct "$tmp/z2" -n 16 -o "$tmp/r.png" 2>/dev/null || fail "reconstruct"
[ "$(png_size "$tmp/r.png")" = "571 237" ] || fail "r.png is $(png_size "$tmp/r.png"), expected 571 237"

# Bad input: one line, exit 1 (what only the data can tell) or 2 (the flags themselves).
expect_error 1 "--from 200: the test split of mnist has 200 points (indices 0 to 199)" -- \
  "$tapir" interpolate "$tmp/z2" --from 200 --to 1 -o "$tmp/x.png"
expect_error 1 "--to 600" -- "$tapir" interpolate "$tmp/z2" --split train --from 1 --to 600 -o "$tmp/x.png"
expect_error 1 "give one --to per --from" -- "$tapir" interpolate "$tmp/z2" --from 1,2 --to 3 -o "$tmp/x.png"
expect_error 1 "cannot write '$tmp/no/dir/l.csv'" -- "$tapir" latent "$tmp/z2" -o "$tmp/no/dir/l.png"
expect_error 1 "cannot write '$tmp/no/dir/i.png'" -- "$tapir" interpolate "$tmp/z2" --from 1 --to 2 -o "$tmp/no/dir/i.png"
expect_error 1 "cannot write '$tmp/no/dir/c.csv'" -- "$tapir" encode "$tmp/z2" -o "$tmp/no/dir/c.csv"
expect_error 1 "not a run directory" -- "$tapir" latent "$tmp/nowhere" -o "$tmp/x.png"
expect_error 2 "not a PNG file name" -- "$tapir" latent "$tmp/z2" -o "$tmp/x.csv"
expect_error 2 "not a CSV file name" -- "$tapir" encode "$tmp/z2" -o "$tmp/z2/config.json"
expect_error 2 "'-1' is not a non-negative whole number" -- "$tapir" interpolate "$tmp/z2" --from -1 --to 2 -o "$tmp/x.png"
expect_error 2 "steps" -- "$tapir" interpolate "$tmp/z2" --from 1 --to 2 --steps 1 -o "$tmp/x.png"
expect_error 2 "'0' is not a positive whole number" -- "$tapir" latent "$tmp/z2" --n 0 -o "$tmp/x.png"
expect_error 2 "split" -- "$tapir" encode "$tmp/z2" --split valid -o "$tmp/x.csv"
[ -e "$tmp/x.png" ] || [ -e "$tmp/x.csv" ] && fail "a refused command wrote a file"

# AVB's implicit encoder: a code is the mean of draws of q(z|x). Monte Carlo EM trains no encoder: refused.
"$tapir" train avb --noise-dim 4 "${small[@]}" --latent 2 --out "$tmp/avb" >/dev/null 2>"$tmp/err" || fail "train avb: $(cat "$tmp/err")"
"$tapir" encode "$tmp/avb" --avb-draws 5 -o "$tmp/avb.csv" 2>/dev/null || fail "encode an AVB run"
[ "$(wc -l <"$tmp/avb.csv")" -eq 201 ] || fail "avb.csv should have 200 rows"
cp -r "$tmp/z2" "$tmp/mcem" && sed -i 's/"method": "aevb"/"method": "mcem"/' "$tmp/mcem/config.json"
expect_error 1 "Monte Carlo EM run: it trains no encoder" -- "$tapir" latent "$tmp/mcem" -o "$tmp/x.png"
expect_error 1 "Monte Carlo EM run: it trains no encoder" -- "$tapir" reconstruct "$tmp/mcem" -o "$tmp/x.png"

# Without labels: the label column is empty, the picture has one colour.
rm "$tmp/data/t10k-labels-idx1-ubyte"
"$tapir" encode "$tmp/z2" -o "$tmp/nolabel.csv" 2>/dev/null || fail "encode without labels"
[ "$(sed -n 2p "$tmp/nolabel.csv" | cut -d, -f1,2)" = "0," ] || fail "unlabelled codes: $(sed -n 2p "$tmp/nolabel.csv")"
"$tapir" latent "$tmp/z2" -o "$tmp/nl.png" 2>/dev/null && is_png "$tmp/nl.png" || fail "latent without labels"

"$tapir" latent --help | grep -q -- "--split" || fail "latent --help lacks --split"
"$tapir" interpolate --help | grep -q -- "--from 3,1 --to 7,9" || fail "interpolate --help lacks how to give pairs"

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all latent-space command tests passed"
