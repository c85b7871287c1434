// tapir/nn/checkpoint.hpp — checkpoints in the safetensors format.
//
// File layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
// N bytes of JSON {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}, then the tensors' bytes (little-endian, row-major, offsets
// relative to the end of the header). Python's `safetensors.numpy.load_file` reads it as is.
//
// A tapir checkpoint stores every named parameter under its hierarchical name, the optimizer's state
// under "optim.<key>", and in __metadata__: format ("tapir-checkpoint/2"), dtype, step, the model
// config (JSON text), the generator state, the optimizer's name, "extra.*" strings, a CRC-32 of the
// data bytes ("data_crc32") and a CRC-32 of every other metadata entry ("metadata_crc32"), so a flipped
// bit in the tensors or in the header's step, generator state or configuration is caught.
// Checkpoints of format "tapir-checkpoint/1" (before the metadata CRC) still load, unchecked by it:
// they are legacy files, not damaged ones; every field is validated all the same.
//
// Writes are atomic (write_file_atomically, nn/io/atomic_file.hpp): a temporary file in the same
// directory, fsync, rename over the target, fsync of the directory. A crash or error mid-write leaves
// the previous checkpoint untouched. Loading validates everything (header, sizes, dtypes, offsets,
// names and shapes against the model) before it changes any parameter, so a bad file never leaves a
// half-loaded model.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "autodiff/random.hpp"
#include "nn/module.hpp"
#include "nn/optim/optimizer.hpp"

namespace tapir::nn {

/// What a checkpoint carries besides the tensors.
struct CheckpointInfo {
  nlohmann::json config = nlohmann::json::object();  // the model/run configuration
  long step = 0;                                     // training step (or samples seen)
  std::optional<Rng::State> rng;                     // generator state, to resume the same stream
  std::map<std::string, std::string> extra;          // any other strings
};

/// A tensor as read from or written to a safetensors file (dtype F32 or F64).
struct NamedTensors {
  std::map<std::string, Array<float>> f32;
  std::map<std::string, Array<double>> f64;
  std::map<std::string, std::string> metadata;
};

/// Writes `tensors` atomically as a safetensors file at `path`. Throws tapir::Error naming the path
/// and the failing system call.
void write_safetensors(const std::string& path, const NamedTensors& tensors);
/// Reads and validates a safetensors file (F32 and F64 tensors). Throws tapir::Error naming the path
/// and what is wrong (header length, JSON, dtype, shape, offsets with byte positions).
NamedTensors read_safetensors(const std::string& path);
/// read_safetensors on `size` bytes in memory; `source` names them in errors. Allocates no more than
/// the bytes given justify (header length, shapes and offsets are checked against them first).
NamedTensors parse_safetensors(const std::uint8_t* bytes, std::size_t size, const std::string& source);

/// Saves `model`'s parameters, `info`, and (if given) `optimizer`'s state to `path`, atomically.
template <class T>
void save_checkpoint(const std::string& path, const Module<T>& model, const CheckpointInfo& info,
                     const optim::Optimizer<T>* optimizer = nullptr);

/// Maps a parameter name stored in an older checkpoint to the model's current name.
using ParameterRename = std::function<std::string(const std::string&)>;

/// Loads a checkpoint into `model` (and `optimizer`): every parameter must be present with the same
/// dtype and shape, and no unknown tensor may be present but the optimizer state ("optim.*"), which is
/// loaded into `optimizer` when one is given and skipped otherwise (for evaluation and sampling). The
/// metadata must match its CRC (format /2) and be valid: step a non-negative whole number in decimal
/// digits (no sign, no hex), the generator state well-formed and not all zero, the optimizer state within
/// its domains (lr finite and ≥ 0, the step pair whole, accumulators of squares ≥ 0 (+inf included: float
/// overflow), no NaN). Errors name the file and the field. Nothing is changed unless all checks pass.
/// `rename`, when given, is applied to every stored parameter name first (checkpoints written before a
/// model's parameters were renamed).
template <class T>
CheckpointInfo load_checkpoint(const std::string& path, Module<T>& model, optim::Optimizer<T>* optimizer = nullptr,
                               const ParameterRename& rename = {});

/// Rng::State as text ("s0:s1:s2:s3:has_spare:spare-bits", hex) and back; throws on malformed text.
std::string rng_state_to_string(const Rng::State& s);
Rng::State rng_state_from_string(const std::string& text);

}  // namespace tapir::nn
