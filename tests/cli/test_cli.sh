#!/usr/bin/env bash
# The `tapir` command end to end on synthetic data: the train/resume/eval/picture/plot/reproduce
# contract and its errors (one line on stderr, a non-zero exit, nothing half-written).
#   test_cli.sh TAPIR MAKE_SYNTHETIC_DATA
source "$(dirname "$0")/common.sh" cli "$@"
small=(--data "$tmp/data" --latent 2 --hidden 16 --eval-every 400 --seed 3 --progress none)

# Help and flag errors.
"$tapir" --help >"$tmp/help" && grep -q "train" "$tmp/help" || fail "tapir --help lacks the commands"
"$tapir" train vae --help >"$tmp/help" || fail "train vae --help"
grep -q -- "--importance-samples" "$tmp/help" && fail "train's help shows eval's flags"
grep -q -- "--latent" "$tmp/help" || fail "train vae --help lacks --latent"
expect_error 2 "'abc' is not a positive whole number" -- "$tapir" train vae --latent abc --data x --out y
expect_error 2 "optimizer" -- "$tapir" train vae --optimizer sgd --data x --out y
expect_error 2 "required" -- "$tapir" train vae --data x
expect_error 2 "'-1' is not a non-negative whole number" -- "$tapir" eval x -k -1
expect_error 2 "'2.5' is not a positive whole number" -- "$tapir" train vae --samples 2.5 --data x --out y
expect_error 1 "continuous-bernoulli decoder models grey levels" -- \
  "$tapir" train vae --likelihood continuous-bernoulli --data "$tmp/data" --out "$tmp/r0" --progress none
expect_error 1 "$tmp/nowhere" -- "$tapir" train vae --data "$tmp/nowhere" --out "$tmp/r0" --progress none
[ -e "$tmp/r0/config.json" ] && fail "a run that could not load its data left a config.json"

# Train, the run directory, resume.
"$tapir" train vae "${small[@]}" --samples 1200 --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || fail "train vae: $(cat "$tmp/err")"
head -1 "$tmp/run/curve.csv" | grep -q "^samples,epoch,seconds,train_elbo,test_elbo" || fail "curve.csv header"
[ "$(wc -l <"$tmp/run/curve.csv")" -eq 4 ] || fail "curve.csv should have 3 rows: $(cat "$tmp/run/curve.csv")"
for f in config.json checkpoint_last.safetensors checkpoint_best.safetensors; do
  [ -s "$tmp/run/$f" ] || fail "run lacks $f"
done
grep -q '"z_dim": 2' "$tmp/run/config.json" || fail "config.json lacks z_dim"
expect_error 1 "already holds a run" -- "$tapir" train vae "${small[@]}" --out "$tmp/run"
expect_error 1 "would not continue it" -- "$tapir" train --resume "$tmp/run" --samples 400 --progress none
"$tapir" train --resume "$tmp/run" --samples 1600 --progress none >/dev/null 2>"$tmp/err" || fail "resume: $(cat "$tmp/err")"
tail -1 "$tmp/run/curve.csv" | grep -q "^1600," || fail "resumed run did not reach 1600 samples"
"$tapir" train vae "${small[@]}" --samples 1.6e3 --out "$tmp/run2" >/dev/null 2>"$tmp/err" || fail "run2: $(cat "$tmp/err")"
[ "$(cut -d, -f1,2,4,5 "$tmp/run/curve.csv")" = "$(cut -d, -f1,2,4,5 "$tmp/run2/curve.csv")" ] ||
  fail "resumed curve differs from the uninterrupted one"

# Eval: one JSON object.
"$tapir" eval "$tmp/run" --split test --importance-samples 50 >"$tmp/eval.json" 2>"$tmp/err" || fail "eval: $(cat "$tmp/err")"
for key in elbo log_likelihood n seconds; do
  grep -q "\"$key\":" "$tmp/eval.json" || fail "eval JSON lacks $key: $(cat "$tmp/eval.json")"
done
grep -q '"n":200' "$tmp/eval.json" || fail "eval did not score the 200 test points"
"$tapir" eval "$tmp/run" --limit 5 -k 10 --ais-steps 20 --ais-chains 2 >"$tmp/ais.json" 2>"$tmp/err" || fail "eval --ais: $(cat "$tmp/err")"
grep -q '"ais_log_likelihood":' "$tmp/ais.json" || fail "eval --ais-steps lacks its estimate: $(cat "$tmp/ais.json")"
"$tapir" eval "$tmp/run" --limit 5 -k 10 --hmc-harmonic 20 >"$tmp/hm.json" 2>"$tmp/err" || fail "eval --hmc-harmonic: $(cat "$tmp/err")"
grep -q '"hmc_harmonic_log_likelihood":' "$tmp/hm.json" || fail "eval --hmc-harmonic lacks its estimate: $(cat "$tmp/hm.json")"
expect_error 1 "not a run directory" -- "$tapir" eval "$tmp/nowhere"

# Pictures.
"$tapir" sample "$tmp/run" -n 16 -o "$tmp/s.png" 2>/dev/null || fail "sample"
"$tapir" reconstruct "$tmp/run" -n 8 -o "$tmp/r.png" 2>/dev/null || fail "reconstruct"
"$tapir" manifold "$tmp/run" --grid 5 -o "$tmp/m.png" 2>/dev/null || fail "manifold"
for f in s r m; do
  [ "$(head -c 4 "$tmp/$f.png" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "$f.png is not a PNG"
done
expect_error 1 "two different latent dimensions" -- "$tapir" manifold "$tmp/run" --dims 0,5 -o "$tmp/m2.png"
expect_error 1 "cannot write '.*/s.png': No such file or directory" -- "$tapir" sample "$tmp/run" -o "$tmp/no/such/dir/s.png"

# Plot: always the CSV; the PNG when gnuplot is installed.
"$tapir" plot "$tmp/run" "$tmp/run2" -o "$tmp/fig.png" 2>"$tmp/err" || fail "plot: $(cat "$tmp/err")"
grep -q "^run,samples,train_elbo,test_elbo" "$tmp/fig.csv" || fail "plot CSV"
grep -q '^"AEVB N_z = 2 (run2)",' "$tmp/fig.csv" || fail "two runs with one N_z are not told apart: $(head -3 "$tmp/fig.csv")"
if command -v gnuplot >/dev/null; then [ -s "$tmp/fig.png" ] || fail "plot PNG"; fi

# A damaged checkpoint is refused with its path.
head -c 1000 "$tmp/run/checkpoint_best.safetensors" >"$tmp/t" && mv "$tmp/t" "$tmp/run/checkpoint_best.safetensors"
expect_error 1 "checkpoint_best.safetensors" -- "$tapir" eval "$tmp/run" --checkpoint best

# Frey-shaped data and the Figure 2 reproduction, small.
"$tapir" reproduce fig2 --dataset frey --data "$tmp/data" --samples 800 --latents 2,3 --wake-sleep --jobs 2 --out "$tmp/fig2" \
  --progress none >"$tmp/out" 2>"$tmp/err" || fail "reproduce fig2: $(cat "$tmp/err")"
grep -q "^| 3 |" "$tmp/fig2/fig2_frey.md" || fail "fig2 table lacks N_z = 3: $(cat "$tmp/fig2/fig2_frey.md")"
[ -s "$tmp/fig2/nz2/curve.csv" ] || fail "fig2 run nz2"
grep -q "^| 3 | wake-sleep |" "$tmp/fig2/fig2_frey.md" || fail "fig2 table lacks wake-sleep: $(cat "$tmp/fig2/fig2_frey.md")"
"$tapir" train wake-sleep "${small[@]}" --samples 800 --out "$tmp/ws" >/dev/null 2>"$tmp/err" || fail "train wake-sleep: $(cat "$tmp/err")"
grep -q '"method": "wake-sleep"' "$tmp/ws/config.json" || fail "wake-sleep run's config lacks its method"

# Monte Carlo EM: its curve holds AIS estimates; it resumes from its chains.
"$tapir" train mcem --data "$tmp/data" --latent 2 --hidden 16 --eval-every 300 --samples 600 --out "$tmp/mcem" \
  --ais-points 20 --ais-steps 10 --ais-chains 2 \
  --progress none >/dev/null 2>"$tmp/err" || fail "train mcem: $(cat "$tmp/err")"
[ -s "$tmp/mcem/mcem_chains.safetensors" ] || fail "mcem run lacks its chains"
"$tapir" train --resume "$tmp/mcem" --samples 900 --progress none >/dev/null 2>"$tmp/err" || fail "mcem resume: $(cat "$tmp/err")"
tail -1 "$tmp/mcem/curve.csv" | grep -q "^900," || fail "mcem resume did not reach 900 samples"

# Figure 3, tiny: three methods, AIS curves.
"$tapir" reproduce fig3 --data "$tmp/data" --ntrain 200 --samples 400 --ais-steps 5 --ais-chains 2 --ais-points 20 \
  --jobs 2 --out "$tmp/fig3" --progress none >/dev/null 2>"$tmp/err" || fail "reproduce fig3: $(cat "$tmp/err")"
for m in aevb wake-sleep mcem; do grep -q "^| $m |" "$tmp/fig3/fig3_n200.md" || fail "fig3 table lacks $m"; done

# Adversarial Variational Bayes: the run contract, evaluation by T and AIS, the two reproductions.
"$tapir" train avb --adaptive-contrast --contrast-samples 3 --noise-dim 4 "${small[@]}" --samples 600 \
  --out "$tmp/avb" >/dev/null 2>"$tmp/err" || fail "train avb: $(cat "$tmp/err")"
for f in avb_last.safetensors avb_best.safetensors checkpoint_last.safetensors; do
  [ -s "$tmp/avb/$f" ] || fail "avb run lacks $f"
done
grep -q '"adaptive_contrast": true' "$tmp/avb/config.json" || fail "avb config lacks its options"
"$tapir" train --resume "$tmp/avb" --samples 900 --progress none >/dev/null 2>"$tmp/err" || fail "avb resume: $(cat "$tmp/err")"
tail -1 "$tmp/avb/curve.csv" | grep -q "^900," || fail "avb resume did not reach 900 samples"
"$tapir" eval "$tmp/avb" --limit 5 --ais-steps 5 --ais-chains 2 >"$tmp/avb.json" 2>"$tmp/err" || fail "eval avb: $(cat "$tmp/err")"
grep -q '"elbo_estimator":"AVB T (adaptive contrast)"' "$tmp/avb.json" || fail "eval avb JSON: $(cat "$tmp/avb.json")"
grep -q '"ais_log_likelihood":' "$tmp/avb.json" || fail "eval avb lacks AIS: $(cat "$tmp/avb.json")"
expect_error 1 "has no density" -- "$tapir" eval "$tmp/avb" -k 10
expect_error 2 "disc-steps" -- "$tapir" train avb --disc-steps 0 --data x --out y
expect_error 1 "do not apply" -- "$tapir" train avb "${small[@]}" --estimator A --out "$tmp/avb-a"
grep -q '"optimizer": "adam"' "$tmp/avb/config.json" || fail "train avb does not default to Adam"
"$tapir" reconstruct "$tmp/avb" -o "$tmp/avb-rec.png" -n 10 2>"$tmp/err" && [ -s "$tmp/avb-rec.png" ] ||
  fail "reconstruct on an AVB run: $(cat "$tmp/err")"
"$tapir" reproduce avb-toy --steps 200 --methods vae,avb --out "$tmp/toy" --progress none >/dev/null 2>"$tmp/err" ||
  fail "reproduce avb-toy: $(cat "$tmp/err")"
for m in vae avb; do
  [ -s "$tmp/toy/avb_toy_$m.png" ] || fail "avb-toy lacks the $m scatter plot"
  grep -q "^| $m | 200 |" "$tmp/toy/avb_toy.md" || fail "avb-toy table lacks $m: $(cat "$tmp/toy/avb_toy.md")"
done
"$tapir" reproduce avb-mnist --data "$tmp/data" --samples 300 --latent 2 --ais-points 10 --ais-steps 5 --ais-chains 2 \
  --jobs 2 --out "$tmp/am" --progress none >/dev/null 2>"$tmp/err" || fail "reproduce avb-mnist: $(cat "$tmp/err")"
[ "$(grep -c "^| \(VAE\|AVB\) " "$tmp/am/avb_mnist.md")" -eq 3 ] || fail "avb-mnist table: $(cat "$tmp/am/avb_mnist.md")"
# Its figure's CSV: each curve, then its AIS estimates (bounds empty); calling again with more samples
# resumes the runs and adds an AIS point per run to OUT/ais.csv.
head -1 "$tmp/am/avb_mnist.csv" | grep -qx "run,samples,train_elbo,test_elbo,ais_log_px" ||
  fail "avb-mnist plot CSV header: $(head -1 "$tmp/am/avb_mnist.csv")"
[ "$(grep -c '^"\(VAE\|AVB\|AVB + AC\)",300,,,-[0-9.]*$' "$tmp/am/avb_mnist.csv")" -eq 3 ] ||
  fail "avb-mnist plot CSV lacks the AIS rows: $(cat "$tmp/am/avb_mnist.csv")"
if command -v gnuplot >/dev/null 2>&1; then  # the figure itself, drawn by gnuplot from that CSV
  [ -s "$tmp/am/avb_mnist.png" ] && [ -s "$tmp/am/avb_mnist.gp" ] || fail "avb-mnist drew no figure (gnuplot is installed)"
fi
"$tapir" reproduce avb-mnist --data "$tmp/data" --samples 400 --latent 2 --ais-points 10 --ais-steps 5 --ais-chains 2 \
  --jobs 2 --out "$tmp/am" --progress none >/dev/null 2>"$tmp/err" || fail "reproduce avb-mnist to 400: $(cat "$tmp/err")"
[ "$(grep -c "^\(vae\|avb\|avb-ac\),\(300\|400\),-[0-9.]*,10,5,2$" "$tmp/am/ais.csv")" -eq 6 ] ||
  fail "avb-mnist ais.csv after a second budget: $(cat "$tmp/am/ais.csv")"

# Priors and two stochastic layers: train, resume, eval (bound, IWAE, AIS) and every picture.
for variant in "--prior mog:3" "--prior vamp:4" "--latent2 2 --hidden2 8"; do
  dir="$tmp/parts-$(echo "$variant" | tr -c 'a-z0-9' '_')"
  # shellcheck disable=SC2086
  "$tapir" train vae "${small[@]}" $variant --optimizer adam --samples 800 --out "$dir" >/dev/null 2>"$tmp/err" ||
    fail "train vae $variant: $(cat "$tmp/err")"
  "$tapir" train --resume "$dir" --samples 1200 --progress none >/dev/null 2>"$tmp/err" ||
    fail "resume $variant: $(cat "$tmp/err")"
  "$tapir" eval "$dir" -k 20 --limit 30 --ais-steps 5 --ais-chains 2 >"$tmp/eval.json" 2>"$tmp/err" ||
    fail "eval $variant: $(cat "$tmp/err")"
  grep -q '"log_likelihood":-[0-9]' "$tmp/eval.json" || fail "eval $variant: no IWAE estimate: $(cat "$tmp/eval.json")"
  grep -q '"ais_log_likelihood":-[0-9]' "$tmp/eval.json" || fail "eval $variant: no AIS estimate: $(cat "$tmp/eval.json")"
  for picture in sample reconstruct; do
    "$tapir" $picture "$dir" -o "$dir/$picture.png" 2>"$tmp/err" && [ -s "$dir/$picture.png" ] ||
      fail "$picture $variant: $(cat "$tmp/err")"
  done
  "$tapir" manifold "$dir" --dims 0,1 --grid 4 -o "$dir/manifold.png" 2>"$tmp/err" && [ -s "$dir/manifold.png" ] ||
    fail "manifold $variant: $(cat "$tmp/err")"
done
expect_error 2 "mog:0" -- "$tapir" train vae --prior mog:0 --data x --out y
expect_error 1 "estimator B" -- "$tapir" train vae "${small[@]}" --prior mog:3 --estimator B --out "$tmp/r-b"

# Exact EM.
"$tapir" em gmm --dataset mnist --data "$tmp/data" --limit 300 -k 3 --covariance diagonal --out "$tmp/gmm.safetensors" \
  >"$tmp/gmm.csv" 2>"$tmp/err" || fail "em gmm: $(cat "$tmp/err")"
head -1 "$tmp/gmm.csv" | grep -q "^iteration,log_likelihood" || fail "em gmm CSV header"
[ -s "$tmp/gmm.safetensors" ] || fail "em gmm model"
"$tapir" em ppca --dataset frey --data "$tmp/data" --limit 400 --latent 3 --compare-aevb 4000 --report "$tmp/ppca" \
  >"$tmp/ppca.csv" 2>"$tmp/err" || fail "em ppca: $(cat "$tmp/err")"
grep -q "closed-form maximum likelihood" "$tmp/err" || fail "em ppca does not report the closed form"
grep -q "^| AEVB: its generative model's exact log p(x)" "$tmp/ppca/ppca_aevb.md" || fail "pPCA/AEVB table"
expect_error 1 "needs --report" -- "$tapir" em ppca --dataset frey --data "$tmp/data" --compare-aevb 100

# The bound's terms and the active units: curve.csv's last five columns, eval's keys, the progress line;
# an older run's 7-column curve.csv gains the columns when it resumes (its old rows' fields empty).
head -1 "$tmp/run/curve.csv" |
  grep -q "^samples,epoch,seconds,train_elbo,test_elbo,beta,lr,train_recon,train_kl,test_recon,test_kl,active_units$" ||
  fail "curve.csv lacks the terms' columns: $(head -1 "$tmp/run/curve.csv")"
tail -1 "$tmp/run/curve.csv" | grep -Eq ',-[0-9.]+,[0-9.]+,-[0-9.]+,[0-9.]+,[0-9]+$' ||
  fail "curve.csv's last row lacks the terms: $(tail -1 "$tmp/run/curve.csv")"
"$tapir" eval "$tmp/run" -k 0 >"$tmp/terms.json" 2>"$tmp/err" || fail "eval -k 0: $(cat "$tmp/err")"
for key in reconstruction kl active_units; do
  grep -q "\"$key\":-\?[0-9]" "$tmp/terms.json" || fail "eval JSON lacks $key: $(cat "$tmp/terms.json")"
done
cp -r "$tmp/run" "$tmp/old-run" && rm -f "$tmp/old-run/.lock"
cut -d, -f1-7 "$tmp/run/curve.csv" >"$tmp/old-run/curve.csv"
"$tapir" train --resume "$tmp/old-run" --samples 2000 --progress lines >/dev/null 2>"$tmp/err" ||
  fail "resume of a 7-column curve: $(cat "$tmp/err")"
head -1 "$tmp/old-run/curve.csv" | grep -q ",test_kl,active_units$" || fail "resumed old curve keeps the old header"
sed -n 2p "$tmp/old-run/curve.csv" | grep -q ",,,,,$" || fail "old row not padded: $(sed -n 2p "$tmp/old-run/curve.csv")"
tail -1 "$tmp/old-run/curve.csv" | grep -Eq '^2000,.*,[0-9]+$' || fail "new row lacks terms: $(tail -1 "$tmp/old-run/curve.csv")"
grep -q "test -[0-9.]* (recon -[0-9.]*, KL [0-9.]*)  active units [0-9]" "$tmp/err" ||
  fail "the progress line lacks the split: $(cat "$tmp/err")"

[ "$failures" -eq 0 ] && echo "cli: all checks passed"
exit $(( failures > 0 ))
