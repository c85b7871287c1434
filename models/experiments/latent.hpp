// tapir/models/experiments/latent.hpp — a trained model's latent space, as VAE tutorials show it: the
// posterior means of a data split (drawn in two dimensions: the means themselves when N_z = 2, else their
// first two principal components), linear interpolation between the codes of two inputs, and the codes
// as CSV. The pictures of `tapir latent` and `tapir interpolate`, the table of `tapir encode`.
//
// The code of x is the mean of q(z|x): μ_φ(x) for a model with a Gaussian proposal (encode_mean); for an
// AVB run, whose q(z|x) is implicit, the average of `avb_draws` draws z = f_φ(x, ε). Models without a
// trained encoder (no proposal, or a Monte Carlo EM run, whose encoder is never trained) are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autodiff/array.hpp"
#include "models/train/run.hpp"

namespace tapir::models::experiments {

/// μ_φ(x) = model.encode_mean(x) for the rows of x (n, x_dim), in batches of `batch` without gradients:
/// (n, z_dim). Throws tapir::Error naming the model when it has no proposal q(z|x).
Array<float> encode_means(const LatentVariableModel<float>& model, const Array<float>& x, std::size_t batch = 1000);

/// E[z | x] under AVB's implicit q_φ(z|x), estimated by the average of `draws` draws z = f_φ(x, ε):
/// (n, z_dim). `draws` ≥ 1.
Array<float> encode_means(const Avb<float>& avb, const Array<float>& x, Rng& rng, std::size_t draws,
                          std::size_t batch = 1000);

/// A run's model and how it encodes: loaded from RUN_DIR's checkpoint `which` (best | last).
struct RunEncoder {
  VaeRunConfig config;
  std::unique_ptr<LatentVariableModel<float>> model;
  std::unique_ptr<Avb<float>> avb;  // AVB runs only: the implicit encoder
  std::size_t avb_draws = 100;
  std::uint64_t seed = 1;  // of the AVB draws (each call of encode starts from it)
  /// The codes of the rows of x, (n, z_dim) (see the top of this file).
  Array<float> encode(const Array<float>& x) const;
  /// What a code is, for pictures' titles: "posterior means" or "means of 100 draws of q(z|x)".
  std::string what() const;
};
/// Throws tapir::Error with a one-line message when the run has no trained encoder.
RunEncoder load_run_encoder(const std::string& run_dir, const std::string& which = "last", std::size_t avb_draws = 100,
                            std::uint64_t seed = 1);

/// Principal component analysis of the rows of z (n, k), in double.
struct PrincipalComponents {
  std::vector<double> mean;                     // z̄, (k)
  std::vector<std::vector<double>> directions;  // m unit vectors (k), by falling variance
  std::vector<double> variance;                 // the variance along each direction
  double total_variance = 0;                    // the covariance's trace: Σ of all k variances
  Array<double> projected;                      // (n, m): (z_i − z̄) · direction_j
};
/// The m leading eigenvectors of the covariance C = (1/n) Σ_i (z_i − z̄)(z_i − z̄)ᵀ, diagonalised by
/// cyclic Jacobi rotations (exact to rounding for the k ≤ a few hundred of a latent space). A direction's
/// sign makes its largest-magnitude entry positive. variance[j] / total_variance is the fraction of the
/// variance the direction explains (0 when all points coincide). Throws unless n ≥ 1 and 1 ≤ m ≤ k.
PrincipalComponents principal_components(const Array<float>& z, std::size_t m = 2);

/// The codes in the plane of the picture, with the axes' names.
struct LatentPlane {
  Array<float> xy;  // (n, 2)
  std::string x_label, y_label;
  bool pca = false;
};
/// N_z = 2: the codes themselves ("z1", "z2"); N_z > 2: their first two principal components
/// ("PC1 (31.2 % of variance)"). Throws for N_z = 1 (nothing to draw in a plane; `tapir encode`
/// lists it).
LatentPlane latent_plane(const Array<float>& codes);

/// z_t = (1 − t) z_a + t z_b at t = s / (steps − 1), s = 0, …, steps − 1: (steps, k), the first row z_a and
/// the last z_b. Linear in the codes (as the Keras and PyTorch VAE examples): the posterior means of a
/// trained VAE sit where the prior has mass, so the straight path between two of them stays near it.
/// Throws unless z_a and z_b are (k) or (1, k) alike and steps ≥ 2.
Array<float> interpolate_linear(const Array<float>& z_a, const Array<float>& z_b, std::size_t steps);

/// One row of the interpolation picture: x_a, the decoder's means at interpolate_linear(z_a, z_b, steps),
/// x_b: (steps + 2, x_dim). x_ends (2, x_dim) holds x_a, x_b; z_ends (2, z_dim) their codes.
Array<float> interpolation_row(const LatentVariableModel<float>& model, const Array<float>& x_ends,
                               const Array<float>& z_ends, std::size_t steps);

/// The names of a data set's classes for a picture's key: MNIST's digits, Fashion-MNIST's ten
/// garments; empty for data without labels (Frey Face, binarised MNIST).
std::vector<std::string> class_names(const std::string& dataset);

/// CSV: the header `index,label,mu_1,…,mu_k`, then one row per code (label empty when `labels` is
/// empty), values with 7 significant digits (float precision round-trips within 1e-6 relative).
std::string codes_csv(const Array<float>& codes, const std::vector<int>& labels);
/// CSV of a picture's points: `index,label,x,y`.
std::string plane_csv(const Array<float>& xy, const std::vector<int>& labels);

}  // namespace tapir::models::experiments
