#include "models/experiments/latent.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <xtensor/xview.hpp>

#include "models/experiments/pictures.hpp"

namespace tapir::models::experiments {

namespace {

/// Rows [begin, end) of x as their own array.
Array<float> row_range(const Array<float>& x, std::size_t begin, std::size_t end) {
  std::vector<std::size_t> idx(end - begin);
  std::iota(idx.begin(), idx.end(), begin);
  Array<float> out;
  data::gather_rows(x, idx, out);
  return out;
}

}  // namespace

Array<float> encode_means(const LatentVariableModel<float>& model, const Array<float>& x, std::size_t batch) {
  if (!model.has_proposal())
    throw Error(fmt::format("model '{}' has no encoder q(z|x) to encode data with", model.name()));
  if (x.dimension() != 2 || x.shape()[1] != model.x_dim() || batch == 0)
    throw ShapeError(
        fmt::format("encode_means: x has shape {}, expected (n, {})", shape_str(x.shape()), model.x_dim()));
  const std::size_t n = x.shape()[0], k = model.z_dim();
  Array<float> codes = Array<float>::from_shape({n, k});
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  for (std::size_t i = 0; i < n; i += batch) {
    const std::size_t end = std::min(n, i + batch);
    const Array<float> mu = model.encode_mean(tape.constant(row_range(x, i, end))).value();  // μ_φ(x)
    std::copy(mu.begin(), mu.end(), codes.begin() + static_cast<long>(i * k));
    tape.clear();
  }
  return codes;
}

Array<float> encode_means(const Avb<float>& avb, const Array<float>& x, Rng& rng, std::size_t draws,
                          std::size_t batch) {
  if (draws == 0 || batch == 0 || x.dimension() != 2) throw Error("encode_means: need draws ≥ 1 and x (n, x_dim)");
  const std::size_t n = x.shape()[0], k = avb.z_dim();
  Array<float> codes = xt::zeros<float>({n, k});
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  for (std::size_t i = 0; i < n; i += batch) {
    const std::size_t end = std::min(n, i + batch);
    const Array<float> xb = row_range(x, i, end);
    std::vector<double> sum((end - i) * k, 0.0);
    for (std::size_t d = 0; d < draws; ++d) {
      const Array<float> z = avb.encode(tape.constant(xb), rng).value();  // z = f_φ(x, ε)
      for (std::size_t j = 0; j < sum.size(); ++j) sum[j] += z.data()[j];
      tape.clear();
    }
    for (std::size_t j = 0; j < sum.size(); ++j) codes.data()[i * k + j] = static_cast<float>(sum[j] / double(draws));
  }
  return codes;
}

Array<float> RunEncoder::encode(const Array<float>& x) const {
  if (!avb) return encode_means(*model, x);
  Rng rng(seed);
  return encode_means(*avb, x, rng, avb_draws);
}

std::string RunEncoder::what() const {
  return avb ? fmt::format("means of {} draws of AVB's q(z|x)", avb_draws) : "posterior means";
}

RunEncoder load_run_encoder(const std::string& run_dir, const std::string& which, std::size_t avb_draws,
                            std::uint64_t seed) {
  RunEncoder r;
  r.config = load_vae_run_config(run_dir);
  if (r.config.train.method == "mcem")
    throw Error(fmt::format(
        "'{}' is a Monte Carlo EM run: it trains no encoder q(z|x) (use an aevb, wake-sleep or avb run)", run_dir));
  r.model = load_run_model(run_dir, which);
  r.avb_draws = avb_draws;
  r.seed = seed;
  if (r.config.train.method == "avb") {
    r.avb = load_avb_run_networks(run_dir, which);
  } else if (!r.model->has_proposal()) {
    throw Error(fmt::format("the model of '{}' ({}) has no encoder q(z|x)", run_dir, r.model->name()));
  }
  return r;
}

PrincipalComponents principal_components(const Array<float>& z, std::size_t m) {
  if (z.dimension() != 2 || z.shape()[0] == 0 || m == 0 || m > z.shape()[1])
    throw Error(fmt::format("principal_components: points of shape {}, {} components", shape_str(z.shape()), m));
  const std::size_t n = z.shape()[0], k = z.shape()[1];
  PrincipalComponents pc;
  pc.mean.assign(k, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < k; ++a) pc.mean[a] += z(i, a);
  for (double& v : pc.mean) v /= double(n);
  // C = (1/n) Σ_i (z_i − z̄)(z_i − z̄)ᵀ, row-major k × k
  std::vector<double> c(k * k, 0.0), d(k);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t a = 0; a < k; ++a) d[a] = z(i, a) - pc.mean[a];
    for (std::size_t a = 0; a < k; ++a)
      for (std::size_t b = a; b < k; ++b) c[a * k + b] += d[a] * d[b];
  }
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = a; b < k; ++b) c[b * k + a] = c[a * k + b] /= double(n);
  for (std::size_t a = 0; a < k; ++a) pc.total_variance += c[a * k + a];
  // Cyclic Jacobi: rotations J(p, q, θ) zero c_pq in turn, C ← JᵀCJ, V ← VJ, until C is diagonal; then
  // C's diagonal holds the eigenvalues and V's columns the eigenvectors (Numerical Recipes §11.1).
  std::vector<double> v(k * k, 0.0);
  for (std::size_t a = 0; a < k; ++a) v[a * k + a] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t p = 0; p < k; ++p)
      for (std::size_t q = p + 1; q < k; ++q) off += c[p * k + q] * c[p * k + q];
    if (off <= 1e-30 * (pc.total_variance * pc.total_variance) || off == 0) break;
    for (std::size_t p = 0; p < k; ++p)
      for (std::size_t q = p + 1; q < k; ++q) {
        const double cpq = c[p * k + q];
        if (cpq == 0) continue;
        const double theta = (c[q * k + q] - c[p * k + p]) / (2 * cpq);                                 // cot 2θ
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));  // tan θ
        const double cs = 1 / std::sqrt(t * t + 1), sn = t * cs;
        for (std::size_t r = 0; r < k; ++r) {  // columns p, q: C ← CJ
          const double rp = c[r * k + p], rq = c[r * k + q];
          c[r * k + p] = cs * rp - sn * rq;
          c[r * k + q] = sn * rp + cs * rq;
        }
        for (std::size_t r = 0; r < k; ++r) {  // rows p, q: C ← JᵀC
          const double pr = c[p * k + r], qr = c[q * k + r];
          c[p * k + r] = cs * pr - sn * qr;
          c[q * k + r] = sn * pr + cs * qr;
        }
        for (std::size_t r = 0; r < k; ++r) {  // V ← VJ
          const double rp = v[r * k + p], rq = v[r * k + q];
          v[r * k + p] = cs * rp - sn * rq;
          v[r * k + q] = sn * rp + cs * rq;
        }
      }
  }
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return c[a * k + a] > c[b * k + b]; });
  pc.projected = Array<double>::from_shape({n, m});
  for (std::size_t j = 0; j < m; ++j) {
    std::vector<double> dir(k);
    std::size_t largest = 0;
    for (std::size_t a = 0; a < k; ++a) {
      dir[a] = v[a * k + order[j]];
      if (std::abs(dir[a]) > std::abs(dir[largest])) largest = a;
    }
    if (dir[largest] < 0)
      for (double& x : dir) x = -x;
    pc.variance.push_back(std::max(0.0, c[order[j] * k + order[j]]));
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::size_t a = 0; a < k; ++a) s += (z(i, a) - pc.mean[a]) * dir[a];
      pc.projected(i, j) = s;
    }
    pc.directions.push_back(std::move(dir));
  }
  return pc;
}

LatentPlane latent_plane(const Array<float>& codes) {
  if (codes.dimension() != 2 || codes.shape()[1] < 2)
    throw Error(fmt::format("N_z = {}: a latent space of one dimension has no plane to draw (tapir encode lists it)",
                            codes.dimension() == 2 ? codes.shape()[1] : 0));
  LatentPlane p;
  if (codes.shape()[1] == 2) {
    p.xy = codes;
    p.x_label = "z1";
    p.y_label = "z2";
    return p;
  }
  const PrincipalComponents pc = principal_components(codes, 2);
  p.pca = true;
  p.xy = xt::cast<float>(pc.projected);
  const auto label = [&](std::size_t j) {
    const double f = pc.total_variance > 0 ? 100 * pc.variance[j] / pc.total_variance : 0;
    return fmt::format("PC{} ({:.1f} % of variance)", j + 1, f);
  };
  p.x_label = label(0);
  p.y_label = label(1);
  return p;
}

Array<float> interpolate_linear(const Array<float>& z_a, const Array<float>& z_b, std::size_t steps) {
  if (z_a.shape() != z_b.shape() || z_a.size() == 0 || steps < 2 || z_a.dimension() > 2 ||
      (z_a.dimension() == 2 && z_a.shape()[0] != 1))
    throw Error(fmt::format("interpolate_linear: codes of shapes {} and {}, {} steps (need one shape, steps ≥ 2)",
                            shape_str(z_a.shape()), shape_str(z_b.shape()), steps));
  const std::size_t k = z_a.size();
  Array<float> z = Array<float>::from_shape({steps, k});
  for (std::size_t s = 0; s < steps; ++s) {
    const double t = double(s) / double(steps - 1);
    for (std::size_t a = 0; a < k; ++a)  // z_t = (1 − t) z_a + t z_b, exact at both ends
      z(s, a) = s == 0           ? z_a.data()[a]
                : s + 1 == steps ? z_b.data()[a]
                                 : static_cast<float>((1 - t) * z_a.data()[a] + t * z_b.data()[a]);
  }
  return z;
}

Array<float> interpolation_row(const LatentVariableModel<float>& model, const Array<float>& x_ends,
                               const Array<float>& z_ends, std::size_t steps) {
  if (x_ends.dimension() != 2 || x_ends.shape()[0] != 2 || z_ends.dimension() != 2 || z_ends.shape()[0] != 2)
    throw ShapeError("interpolation_row: need the two inputs (2, x_dim) and their codes (2, z_dim)");
  const Array<float> z = interpolate_linear(xt::view(z_ends, 0, xt::all()), xt::view(z_ends, 1, xt::all()), steps);
  const Array<float> images = decode_mean(model, z);
  const std::size_t d = x_ends.shape()[1];
  Array<float> row = Array<float>::from_shape({steps + 2, d});
  std::copy_n(x_ends.data(), d, row.data());
  std::copy(images.begin(), images.end(), row.data() + d);
  std::copy_n(x_ends.data() + d, d, row.data() + (steps + 1) * d);
  return row;
}

std::vector<std::string> class_names(const std::string& dataset) {
  if (dataset == "mnist") return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  if (dataset == "fashion-mnist")
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return {};
}

std::string codes_csv(const Array<float>& codes, const std::vector<int>& labels) {
  if (codes.dimension() != 2 || (!labels.empty() && labels.size() != codes.shape()[0]))
    throw ShapeError(fmt::format("codes_csv: codes {} with {} labels", shape_str(codes.shape()), labels.size()));
  const std::size_t n = codes.shape()[0], k = codes.shape()[1];
  std::string text = "index,label";
  for (std::size_t a = 0; a < k; ++a) text += fmt::format(",mu_{}", a + 1);
  text += '\n';
  for (std::size_t i = 0; i < n; ++i) {
    text += labels.empty() ? fmt::format("{},", i) : fmt::format("{},{}", i, labels[i]);
    for (std::size_t a = 0; a < k; ++a) text += fmt::format(",{:.7g}", codes(i, a));
    text += '\n';
  }
  return text;
}

std::string plane_csv(const Array<float>& xy, const std::vector<int>& labels) {
  std::string text = codes_csv(xy, labels);
  return "index,label,x,y" + text.substr(text.find('\n'));
}

}  // namespace tapir::models::experiments
