// tapir/nn/checkpoint.cpp — safetensors reading/writing with validation; writes go through
// write_file_atomically (nn/io/atomic_file.hpp).
#include "nn/checkpoint.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "nn/io/atomic_file.hpp"
#include "nn/io/read_file.hpp"

namespace tapir::nn {

namespace {

constexpr std::uint64_t kMaxHeader = 100u << 20;  // as the reference implementation: 100 MB
// /2: the metadata is under a CRC of its own ("metadata_crc32"). /1 files (without it) still load.
constexpr const char* kFormat = "tapir-checkpoint/2";
constexpr const char* kLegacyFormat = "tapir-checkpoint/1";

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(fmt::format("{}: {}", path, what));
}

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

std::uint32_t crc32_of(const void* bytes, std::size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t done = 0;
  while (done < size) {  // zlib takes uInt lengths
    const std::size_t n = std::min<std::size_t>(size - done, 1u << 30);
    crc = crc32(crc, static_cast<const Bytef*>(bytes) + done, static_cast<uInt>(n));
    done += n;
  }
  return static_cast<std::uint32_t>(crc);
}
std::uint32_t crc32_of(const std::vector<char>& bytes) { return crc32_of(bytes.data(), bytes.size()); }

/// CRC-32 of the metadata entries (but the two checksums), length-prefixed so that no two different
/// maps give the same bytes: "<len>:<key><len>:<value>" for each entry in key order.
std::string metadata_crc(const std::map<std::string, std::string>& metadata) {
  std::string text;
  for (const auto& [k, v] : metadata)
    if (k != "metadata_crc32" && k != "data_crc32") text += fmt::format("{}:{}{}:{}", k.size(), k, v.size(), v);
  return fmt::format("{:08x}", crc32_of(std::vector<char>(text.begin(), text.end())));
}

/// A non-negative whole number written by std::to_string: digits only (no sign, no hex, no spaces).
bool parse_count(const std::string& s, long& out) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  out = std::stol(s);
  return true;
}

template <class T>
void append_tensor(const std::string& name, const Array<T>& a, const char* dtype, nlohmann::json& header,
                   std::vector<char>& data) {
  const std::size_t begin = data.size();
  const std::size_t bytes = a.size() * sizeof(T);
  data.resize(begin + bytes);
  if (bytes) std::memcpy(data.data() + begin, a.data(), bytes);
  header[name] = {{"dtype", dtype},
                  {"shape", std::vector<std::size_t>(a.shape().begin(), a.shape().end())},
                  {"data_offsets", {begin, begin + bytes}}};
}

}  // namespace

void write_safetensors(const std::string& path, const NamedTensors& tensors) {
  if (!little_endian()) fail(path, "safetensors is little-endian; big-endian hosts are not supported");
  for (const auto& [name, a] : tensors.f32)
    if (tensors.f64.count(name)) fail(path, fmt::format("tensor name '{}' is used twice", name));
  nlohmann::json header = nlohmann::json::object();
  std::vector<char> data;
  // One name-ordered pass over both dtypes, so offsets increase with the names.
  auto f = tensors.f32.begin();
  auto d = tensors.f64.begin();
  while (f != tensors.f32.end() || d != tensors.f64.end()) {
    if (d == tensors.f64.end() || (f != tensors.f32.end() && f->first < d->first)) {
      append_tensor(f->first, f->second, "F32", header, data);
      ++f;
    } else {
      append_tensor(d->first, d->second, "F64", header, data);
      ++d;
    }
  }
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : tensors.metadata) meta[k] = v;
  meta["data_crc32"] = fmt::format("{:08x}", crc32_of(data));
  header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes, as the reference writer
  const std::uint64_t n = text.size();

  // The whole file in one buffer: [8-byte little-endian length][header][data].
  std::string file;
  file.reserve(8 + text.size() + data.size());
  for (int i = 0; i < 8; ++i) file.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  file += text;
  file.append(data.data(), data.size());
  write_file_atomically(path, file);
}

NamedTensors parse_safetensors(const std::uint8_t* bytes, std::size_t size, const std::string& path) {
  if (!little_endian()) fail(path, "safetensors is little-endian; big-endian hosts are not supported");
  if (size < 8) fail(path, fmt::format("file is {} bytes, too short for the 8-byte header length", size));
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  if (n > kMaxHeader || n > size - 8)
    fail(path, fmt::format("header length {} (bytes 0–7) exceeds the file's {} bytes after it (truncated or not "
                           "a safetensors file)",
                           n, size - 8));
  const std::string_view text(reinterpret_cast<const char*>(bytes) + 8, n);
  const std::uint64_t data_len = size - 8 - n;
  const std::uint8_t* data = bytes + 8 + n;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    fail(path, fmt::format("header JSON (bytes 8–{}) is invalid: {}", 8 + n, e.what()));
  }
  if (!header.is_object()) fail(path, "header JSON is not an object");

  NamedTensors out;
  struct Span {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail(path, fmt::format("__metadata__ value of '{}' is not a string", m.key()));
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { fail(path, fmt::format("tensor '{}': {}", name, what)); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      bad("entry needs dtype, shape and data_offsets");
    if (!v["dtype"].is_string()) bad("dtype is not a string");
    const std::string dtype = v["dtype"].get<std::string>();
    if (dtype != "F32" && dtype != "F64") bad(fmt::format("dtype '{}' is not supported (F32 or F64)", dtype));
    Shape shape;
    if (!v["shape"].is_array()) bad("shape is not an array");
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) bad("shape holds a value that is not a non-negative integer");
      shape.push_back(d.get<std::size_t>());
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad("data_offsets must be two non-negative integers");
    const std::uint64_t begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
    const std::size_t elem = dtype == "F32" ? 4 : 8;
    if (begin > end || end > data_len)
      bad(fmt::format("data_offsets [{}, {}] fall outside the {} data bytes (file bytes {}–{}): truncated?", begin, end,
                      data_len, 8 + n, size));
    // Checked: a shape whose byte count wraps around to the span's length must not pass.
    std::size_t need = elem;
    for (std::size_t d : shape)
      if (__builtin_mul_overflow(need, d, &need))
        bad(fmt::format("shape {} of {} (header bytes 8–{}) needs more than 2^64 bytes", shape_str(shape), dtype,
                        8 + n));
    if (end - begin != need)
      bad(fmt::format("shape {} of {} needs {} bytes, data_offsets give {}", shape_str(shape), dtype, need,
                      end - begin));
    spans.push_back({begin, end, name});
    if (dtype == "F32") {
      Array<float> a = Array<float>::from_shape(shape);
      if (a.size()) std::memcpy(a.data(), data + begin, end - begin);
      out.f32.emplace(name, std::move(a));
    } else {
      Array<double> a = Array<double>::from_shape(shape);
      if (a.size()) std::memcpy(a.data(), data + begin, end - begin);
      out.f64.emplace(name, std::move(a));
    }
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::uint64_t expected = 0;
  for (const Span& s : spans) {
    if (s.begin != expected)
      fail(path, fmt::format("tensor '{}' starts at data byte {} but the previous tensor ends at {} (overlap or gap)",
                             s.name, s.begin, expected));
    expected = s.end;
  }
  if (expected != data_len)
    fail(path,
         fmt::format("the tensors cover {} data bytes but the file holds {} (trailing bytes)", expected, data_len));
  if (auto it = out.metadata.find("data_crc32"); it != out.metadata.end()) {
    const std::string actual = fmt::format("{:08x}", crc32_of(data, data_len));
    if (actual != it->second)
      fail(path, fmt::format("data checksum mismatch (stored crc32 {}, computed {}): the file is corrupt", it->second,
                             actual));
  }
  return out;
}

NamedTensors read_safetensors(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_regular_file(path);  // a directory is refused by name
  try {
    return parse_safetensors(bytes.data(), bytes.size(), path);
  } catch (const std::bad_alloc&) {
    fail(path, fmt::format("out of memory while reading its {} bytes", bytes.size()));
  }
}

std::string rng_state_to_string(const Rng::State& s) {
  std::uint64_t spare_bits;
  std::memcpy(&spare_bits, &s.spare, 8);
  return fmt::format("{:016x}:{:016x}:{:016x}:{:016x}:{}:{:016x}", s.s[0], s.s[1], s.s[2], s.s[3], s.has_spare ? 1 : 0,
                     spare_bits);
}

Rng::State rng_state_from_string(const std::string& text) {
  Rng::State s;
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == ':') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  auto hex = [&](const std::string& p) {
    if (p.empty() || p.size() > 16 || p.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw Error(fmt::format("generator state '{}' is malformed", text));
    return std::stoull(p, nullptr, 16);
  };
  if (parts.size() != 6 || (parts[4] != "0" && parts[4] != "1"))
    throw Error(fmt::format("generator state '{}' is malformed (expected 6 ':'-separated fields)", text));
  for (int i = 0; i < 4; ++i) s.s[i] = hex(parts[i]);
  s.has_spare = parts[4] == "1";
  const std::uint64_t bits = hex(parts[5]);
  std::memcpy(&s.spare, &bits, 8);
  if (s.s[0] == 0 && s.s[1] == 0 && s.s[2] == 0 && s.s[3] == 0)
    throw Error(fmt::format("generator state '{}' is all zero, a state xoshiro256 never reaches", text));
  if (s.has_spare && !std::isfinite(s.spare))
    throw Error(fmt::format("generator state '{}' holds a spare normal that is not finite", text));
  return s;
}

namespace {
template <class T>
constexpr const char* dtype_name() {
  return sizeof(T) == 4 ? "F32" : "F64";
}
template <class T>
std::map<std::string, Array<T>>& tensors_of(NamedTensors& t) {
  if constexpr (sizeof(T) == 4)
    return t.f32;
  else
    return t.f64;
}
/// The optimizer state's values within their domains (nn/optim/optimizer.hpp): lr finite and ≥ 0, the
/// step pair whole numbers (the low part < 2^20), accumulators of squares ≥ 0, no NaN. (An accumulator
/// or a moment may overflow to ±inf in float on a run that is diverging but still has a finite bound:
/// that state is the optimizer's own, and the run must resume from it.)
template <class T>
void check_optimizer_state(const std::string& path, const std::map<std::string, Array<T>>& state) {
  for (const auto& [key, a] : state) {
    const bool squares = key.rfind("sum.", 0) == 0 || key.rfind("exp_avg_sq.", 0) == 0 ||
                         key.rfind("max_exp_avg_sq.", 0) == 0 || key.rfind("square_avg.", 0) == 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double v = static_cast<double>(a.data()[i]);
      const char* domain = nullptr;
      if (std::isnan(v))
        domain = "not a number";
      else if (key == "lr" && !(v >= 0 && std::isfinite(v)))
        domain = "a learning rate must be finite and ≥ 0";
      else if (key == "step" && (!std::isfinite(v) || v < 0 || v != std::floor(v) || (i == 1 && v >= double(1 << 20))))
        domain = "the step pair holds whole numbers ≥ 0, the second < 2^20";
      else if (squares && v < 0)
        domain = "an accumulator of squared gradients must be ≥ 0";
      if (domain) fail(path, fmt::format("optimizer state 'optim.{}' holds {} (element {}): {}", key, v, i, domain));
    }
  }
}

}  // namespace

template <class T>
void save_checkpoint(const std::string& path, const Module<T>& model, const CheckpointInfo& info,
                     const optim::Optimizer<T>* optimizer) {
  NamedTensors t;
  auto& m = tensors_of<T>(t);
  for (const auto& [name, p] : model.named_parameters()) m[name] = p->value();
  if (optimizer) {
    for (auto& [key, a] : optimizer->state_dict()) m["optim." + key] = a;
    t.metadata["optimizer"] = optimizer->name();
  }
  for (const auto& [k, v] : info.extra) t.metadata["extra." + k] = v;
  t.metadata["format"] = kFormat;
  t.metadata["dtype"] = dtype_name<T>();
  t.metadata["step"] = std::to_string(info.step);
  t.metadata["config"] = info.config.dump();
  if (info.rng) t.metadata["rng"] = rng_state_to_string(*info.rng);
  t.metadata["metadata_crc32"] = metadata_crc(t.metadata);
  write_safetensors(path, t);
}

template <class T>
CheckpointInfo load_checkpoint(const std::string& path, Module<T>& model, optim::Optimizer<T>* optimizer,
                               const ParameterRename& rename) {
  NamedTensors t = read_safetensors(path);
  if (rename) {
    auto& stored = tensors_of<T>(t);
    std::map<std::string, Array<T>> renamed;
    for (auto& [name, a] : stored) renamed.emplace(name.rfind("optim.", 0) == 0 ? name : rename(name), std::move(a));
    stored = std::move(renamed);
  }
  auto meta = [&](const char* key) -> const std::string* {
    auto it = t.metadata.find(key);
    return it == t.metadata.end() ? nullptr : &it->second;
  };
  if (!meta("format") || (*meta("format") != kFormat && *meta("format") != kLegacyFormat))
    fail(path, fmt::format("not a tapir checkpoint (metadata 'format' is {}, expected '{}')",
                           meta("format") ? "'" + *meta("format") + "'" : "missing", kFormat));
  // The header's metadata (step, generator, configuration...) is under its own CRC from format /2 on;
  // /1 files predate it and are accepted as they are.
  if (*meta("format") == kFormat) {
    if (!meta("metadata_crc32")) fail(path, "metadata 'metadata_crc32' is missing (the header was altered?)");
    const std::string actual = metadata_crc(t.metadata);
    if (actual != *meta("metadata_crc32"))
      fail(path, fmt::format("metadata checksum mismatch (stored crc32 {}, computed {}): the header is corrupt",
                             *meta("metadata_crc32"), actual));
  }
  if (!meta("dtype") || *meta("dtype") != dtype_name<T>())
    fail(path, fmt::format("checkpoint holds {} tensors but the model is {}", meta("dtype") ? *meta("dtype") : "?",
                           dtype_name<T>()));
  auto& tensors = tensors_of<T>(t);
  const auto params = model.named_parameters();
  // Validate everything before touching the model.
  for (const auto& [name, p] : params) {
    auto it = tensors.find(name);
    if (it == tensors.end()) fail(path, fmt::format("parameter '{}' is missing from the checkpoint", name));
    if (it->second.shape() != p->shape())
      fail(path, fmt::format("parameter '{}' has shape {} in the checkpoint but {} in the model", name,
                             shape_str(it->second.shape()), shape_str(p->shape())));
  }
  typename optim::Optimizer<T>::StateDict optim_state;
  for (auto& [name, a] : tensors) {
    if (name.rfind("optim.", 0) == 0) {
      optim_state.emplace(name.substr(6), a);
      continue;
    }
    bool known = false;
    for (const auto& [pname, p] : params) known = known || pname == name;
    if (!known) fail(path, fmt::format("tensor '{}' in the checkpoint is not a parameter of the model", name));
  }
  CheckpointInfo info;
  try {
    info.config = nlohmann::json::parse(meta("config") ? *meta("config") : "{}");
  } catch (const std::exception& e) {
    fail(path, fmt::format("metadata 'config' is malformed: {}", e.what()));
  }
  if (meta("step") && !parse_count(*meta("step"), info.step))
    fail(path, fmt::format("metadata 'step' is '{}': expected a non-negative whole number", *meta("step")));
  if (meta("rng")) {
    try {
      info.rng = rng_state_from_string(*meta("rng"));
    } catch (const Error& e) {
      fail(path, fmt::format("metadata 'rng': {}", e.what()));
    }
  }
  for (const auto& [k, v] : t.metadata)
    if (k.rfind("extra.", 0) == 0) info.extra[k.substr(6)] = v;
  if (optimizer) {
    if (optim_state.empty()) fail(path, "the checkpoint holds no optimizer state");
    if (!meta("optimizer") || *meta("optimizer") != optimizer->name())
      fail(path, fmt::format("the checkpoint's optimizer is '{}', not '{}'",
                             meta("optimizer") ? *meta("optimizer") : "?", optimizer->name()));
    check_optimizer_state(path, optim_state);
    const auto saved = optimizer->state_dict();
    try {
      optimizer->load_state_dict(optim_state);
    } catch (const Error& e) {
      optimizer->load_state_dict(saved);  // leave the optimizer as it was
      fail(path, e.what());
    }
  }
  for (const auto& [name, p] : params) {
    p->value() = tensors.at(name);
    p->zero_grad();
  }
  return info;
}

template void save_checkpoint(const std::string&, const Module<float>&, const CheckpointInfo&,
                              const optim::Optimizer<float>*);
template void save_checkpoint(const std::string&, const Module<double>&, const CheckpointInfo&,
                              const optim::Optimizer<double>*);
template CheckpointInfo load_checkpoint(const std::string&, Module<float>&, optim::Optimizer<float>*,
                                        const ParameterRename&);
template CheckpointInfo load_checkpoint(const std::string&, Module<double>&, optim::Optimizer<double>*,
                                        const ParameterRename&);

}  // namespace tapir::nn
