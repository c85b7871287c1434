// Checkpoints: bitwise round trips, optimizer and generator state, and every kind of bad file
// (truncated, bit-flipped, wrong shape, missing or unknown tensors) giving a clear error while the
// model and the last good file stay untouched.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autodiff/autodiff.hpp"
#include "autodiff/check.hpp"
#include "nn/checkpoint.hpp"
#include "nn/layers.hpp"
#include "nn/optim/optim.hpp"
#include "skip.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using namespace tapir::nn;
using test::check_throws_with;
using test::TempDir;
namespace fs = std::filesystem;

namespace {

/// A minimal optimizer with per-parameter state, to exercise the optimizer path of checkpoints.
struct Momentum : optim::Optimizer<float> {
  std::vector<Array<float>> velocity;
  explicit Momentum(std::vector<Parameter<float>*> ps) : Optimizer(ps, 0.1) {
    for (auto* p : params_) velocity.push_back(xt::zeros<float>(p->shape()));
  }
  void step() override {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      velocity[i] = 0.9f * velocity[i] + params_[i]->grad();
      params_[i]->value() -= static_cast<float>(lr_) * velocity[i];
    }
    ++steps_;
  }
  const char* name() const override { return "momentum"; }
  StateDict state_dict() const override {
    StateDict s = Optimizer::state_dict();
    put(s, "velocity", velocity);
    return s;
  }
  void load_state_dict(const StateDict& s) override {
    Optimizer::load_state_dict(s);
    get(s, "velocity", velocity);
  }
};

std::vector<char> read_bytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const std::string& p, const std::vector<char>& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(b.data(), static_cast<std::streamsize>(b.size()));
}

/// One training step of a small MLP on fixed data.
void train_step(Mlp<float>& mlp, Momentum& opt, Tape<float>& tape, Rng& rng) {
  Var<float> x = tape.constant(normal<float>(rng, {4, 3}));
  Var<float> loss = sum(square(mlp(x)));
  loss.backward();
  opt.step();
  opt.zero_grad();
  tape.clear();
}

}  // namespace

TEST_CASE("a checkpoint round-trips parameters, optimizer state, generator and metadata bitwise") {
  TempDir dir;
  Rng rng(1);
  Mlp<float> a({3, 5, 2}, rng);
  Momentum opt(a.parameters());
  Tape<float> tape;
  for (int i = 0; i < 3; ++i) train_step(a, opt, tape, rng);
  CheckpointInfo info;
  info.config = {{"hidden", 5}, {"activation", "tanh"}};
  info.step = 3;
  info.rng = rng.state();
  info.extra["note"] = "hello";
  save_checkpoint(dir / "ck.safetensors", a, info, &opt);

  // Continue the original three more steps...
  for (int i = 0; i < 3; ++i) train_step(a, opt, tape, rng);
  // ...and a fresh model restored from the checkpoint: the same three steps give the same bits.
  Rng rng2(999);
  Mlp<float> b({3, 5, 2}, rng2);
  Momentum opt2(b.parameters());
  const CheckpointInfo got = load_checkpoint(dir / "ck.safetensors", b, &opt2);
  CHECK(got.step == 3);
  CHECK(got.config == info.config);
  CHECK(got.extra.at("note") == "hello");
  REQUIRE(got.rng.has_value());
  CHECK(*got.rng == *info.rng);
  CHECK(opt2.steps() == 3);
  rng2.set_state(*got.rng);
  for (int i = 0; i < 3; ++i) train_step(b, opt2, tape, rng2);
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i].first);
    CHECK(pa[i].second->value() == pb[i].second->value());  // bitwise
  }
}

TEST_CASE("double models round-trip too, and a dtype mismatch is refused") {
  TempDir dir;
  Rng rng(2);
  Linear<double> d(3, 2, rng);
  save_checkpoint(dir / "d.safetensors", d, {});
  Linear<double> d2(3, 2, rng);
  load_checkpoint(dir / "d.safetensors", d2);
  CHECK(d2.weight().value() == d.weight().value());
  Linear<float> f(3, 2, rng);
  check_throws_with([&] { load_checkpoint(dir / "d.safetensors", f); }, {"d.safetensors", "F64", "F32"});
}

TEST_CASE("truncated, bit-flipped and garbage files give clear errors and leave the model untouched") {
  TempDir dir;
  Rng rng(3);
  Mlp<float> m({3, 4, 2}, rng);
  const std::string path = dir / "m.safetensors";
  save_checkpoint(path, m, {});
  const std::vector<char> good = read_bytes(path);
  Mlp<float> target({3, 4, 2}, rng);
  const Array<float> before = target.layers()[0]->weight().value();
  auto expect_error = [&](const std::vector<char>& bytes, const std::vector<std::string>& parts) {
    write_bytes(path, bytes);
    check_throws_with([&] { load_checkpoint(path, target); }, parts);
    CHECK(target.layers()[0]->weight().value() == before);  // nothing half-loaded
  };
  SUBCASE("empty") { expect_error({}, {"m.safetensors", "too short"}); }
  SUBCASE("truncated in the header") {
    expect_error(std::vector<char>(good.begin(), good.begin() + 20), {"header length", "truncated"});
  }
  SUBCASE("truncated in the data") {
    expect_error(std::vector<char>(good.begin(), good.end() - 5), {"m.safetensors", "outside"});
  }
  SUBCASE("a bit flipped in the data") {
    std::vector<char> b = good;
    b[b.size() - 3] ^= 0x10;
    expect_error(b, {"checksum mismatch", "corrupt"});
  }
  SUBCASE("a bit flipped in the JSON header") {
    std::vector<char> b = good;
    b[8] ^= 0x01;  // '{' → 'z'
    expect_error(b, {"header JSON", "invalid"});
  }
  SUBCASE("a huge header length") {
    std::vector<char> b = good;
    b[6] = 0x7f;
    expect_error(b, {"header length"});
  }
  SUBCASE("random bit flips anywhere never crash") {
    Rng flips(4);
    for (int i = 0; i < 300; ++i) {
      std::vector<char> b = good;
      const std::size_t at = flips.below(b.size());
      b[at] ^= static_cast<char>(1 << flips.below(8));
      write_bytes(path, b);
      try {
        load_checkpoint(path, target);
        // A flip the format cannot see (e.g. in JSON whitespace padding) may load; it must then be exact.
        CHECK(target.layers()[0]->weight().value() == m.layers()[0]->weight().value());
        target.layers()[0]->weight().value() = before;
      } catch (const Error&) {
        CHECK(target.layers()[0]->weight().value() == before);
      }
    }
  }
}

TEST_CASE("wrong shapes, missing and unknown tensors name the parameter") {
  TempDir dir;
  Rng rng(5);
  MlpOptions no_bias;
  no_bias.bias = false;
  Mlp<float> small({3, 4, 2}, rng), wide({3, 6, 2}, rng), bare({3, 4, 2}, rng, no_bias);
  save_checkpoint(dir / "s.safetensors", small, {});
  check_throws_with([&] { load_checkpoint(dir / "s.safetensors", wide); }, {"'0.weight'", "(3, 4)", "(3, 6)"});
  check_throws_with([&] { load_checkpoint(dir / "s.safetensors", bare); }, {"'0.bias'", "not a parameter"});
  save_checkpoint(dir / "b.safetensors", bare, {});
  check_throws_with([&] { load_checkpoint(dir / "b.safetensors", small); }, {"'0.bias'", "missing"});
  Momentum opt(small.parameters());
  check_throws_with([&] { load_checkpoint(dir / "s.safetensors", small, &opt); }, {"no optimizer state"});
  check_throws_with([&] { load_checkpoint(dir / "nope.safetensors", small); }, {"nope.safetensors", "cannot open"});
}

TEST_CASE("a failed save never replaces the last good checkpoint and leaves no temporary file") {
  TempDir dir;
  Rng rng(6);
  Mlp<float> m({3, 4, 2}, rng);
  const std::string path = dir / "last.safetensors";
  save_checkpoint(path, m, {});
  const std::vector<char> good = read_bytes(path);
  // Saving into a directory that does not exist fails at creating the temporary file.
  check_throws_with([&] { save_checkpoint(dir / "missing/dir/x.safetensors", m, {}); },
                    {"missing/dir", "No such file or directory", "(open)"});
  // A save whose target is a directory fails at rename; the temporary file is removed.
  fs::create_directory(dir / "occupied");
  check_throws_with([&] { save_checkpoint(dir / "occupied", m, {}); }, {"occupied", "not a regular file"});
  CHECK(read_bytes(path) == good);
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("the generator state text round-trips and rejects garbage") {
  Rng rng(7);
  rng.normal();
  const Rng::State s = rng.state();
  CHECK(rng_state_from_string(rng_state_to_string(s)) == s);
  check_throws_with([] { rng_state_from_string("12:zz"); }, {"malformed"});
  check_throws_with([] { rng_state_from_string("0:0:0:0:0:0"); }, {"all zero"});
  check_throws_with([] { rng_state_from_string("1:2:3:4:1:7ff0000000000000"); }, {"not finite"});
}

TEST_CASE("[optional] a 20-line Python reader loads the weights (skipped without python3)") {
  if (std::system("python3 --version > /dev/null 2>&1") != 0) test::skip_test("python3 not found");
  TempDir dir;
  Rng rng(8);
  Linear<float> lin(3, 2, rng);
  save_checkpoint(dir / "p.safetensors", lin, {});
  const std::string out = dir / "out.txt";
  const std::string cmd = std::string("python3 ") + TAPIR_SOURCE_DIR + "/scripts/read_safetensors.py " +
                          (dir / "p.safetensors") + " > " + out;
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(out);
  std::string name, dtype, shape_a, shape_b;
  double total;
  in >> name >> dtype >> shape_a >> total;  // "bias F32 [2] <sum>"
  CHECK(name == "bias");
  CHECK(dtype == "F32");
  CHECK(shape_a == "[2]");
  CHECK(total == doctest::Approx(xt::sum(lin.bias()->value())()).epsilon(1e-5));
  in >> name >> dtype >> shape_a >> shape_b >> total;  // "weight F32 [3, 2] <sum>"
  CHECK(name == "weight");
  CHECK(shape_a + shape_b == "[3,2]");
  CHECK(total == doctest::Approx(xt::sum(lin.weight().value())()).epsilon(1e-5));
}

TEST_CASE("Adagrad (the AEVB optimizer) resumes bitwise through a checkpoint file") {
  TempDir dir;
  auto run = [](Mlp<float>& m, optim::Optimizer<float>& opt, Rng& rng, int steps) {
    Tape<float> tape;
    for (int i = 0; i < steps; ++i) {
      Var<float> loss = sum(square(m(tape.constant(normal<float>(rng, {4, 3})))));
      loss.backward();
      opt.step();
      opt.zero_grad();
      tape.clear();
    }
  };
  optim::AdagradOptions o;
  o.lr = 0.05;
  o.initial_accumulator_value = 0.01;
  Rng rng(10);
  Mlp<float> a({3, 5, 2}, rng);
  optim::Adagrad<float> opt(a.parameters(), o);
  run(a, opt, rng, 4);
  CheckpointInfo info;
  info.rng = rng.state();
  save_checkpoint(dir / "a.safetensors", a, info, &opt);
  run(a, opt, rng, 5);
  Rng other(0);
  Mlp<float> b({3, 5, 2}, other);
  optim::Adagrad<float> opt2(b.parameters(), o);
  other.set_state(*load_checkpoint(dir / "a.safetensors", b, &opt2).rng);
  run(b, opt2, other, 5);
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    CHECK(a.parameters()[i]->value() == b.parameters()[i]->value());
  optim::Adam<float> adam(b.parameters(), optim::AdamOptions{});
  check_throws_with([&] { load_checkpoint(dir / "a.safetensors", b, &adam); }, {"'adagrad'", "'adam'"});
}

namespace {
/// `path` rewritten with metadata[key] = value (erased when value is null). The metadata CRC is not
/// recomputed: as written, the file fails it; with format set to /1 (the legacy format) it is a legacy file.
void edit_metadata(const std::string& path, const std::map<std::string, const char*>& edits) {
  NamedTensors t = read_safetensors(path);
  for (const auto& [key, value] : edits)
    if (value)
      t.metadata[key] = value;
    else
      t.metadata.erase(key);
  write_safetensors(path, t);
}

/// A small checkpoint with an optimizer, step 40 and a generator state.
void save_small(const std::string& path, Mlp<float>& m, Momentum& opt, Rng& rng) {
  CheckpointInfo info;
  info.step = 40;
  info.rng = rng.state();
  save_checkpoint(path, m, info, &opt);
}
}  // namespace

TEST_CASE("the header's metadata is under a CRC: a flipped digit of the step or the generator is refused") {
  TempDir dir;
  Rng rng(11);
  Mlp<float> m({3, 4, 2}, rng);
  Momentum opt(m.parameters());
  const std::string path = dir / "ck.safetensors";
  save_small(path, m, opt, rng);
  CHECK(read_safetensors(path).metadata.count("metadata_crc32") == 1);
  CHECK(read_safetensors(path).metadata.at("format") == "tapir-checkpoint/2");

  // Flip one bit of the step's digit in place: the file stays valid JSON and its data CRC still holds.
  const std::vector<char> good = read_bytes(path);
  const std::string text(good.begin(), good.end());
  for (const std::string field : {"\"step\":\"", "\"rng\":\""}) {  // "40" becomes "50"; a hex digit changes
    CAPTURE(field);
    const auto at = text.find(field);
    REQUIRE(at != std::string::npos);
    std::vector<char> bad = good;
    bad[at + field.size()] ^= 0x01;
    write_bytes(path, bad);
    Rng r(0);
    Mlp<float> target({3, 4, 2}, r);
    const auto before = target.named_parameters()[0].second->value();
    check_throws_with([&] { load_checkpoint(path, target); }, {"ck.safetensors", "metadata checksum mismatch"});
    CHECK(target.named_parameters()[0].second->value() == before);  // untouched
  }
  write_bytes(path, good);
  Mlp<float> ok({3, 4, 2}, rng);
  CHECK(load_checkpoint(path, ok).step == 40);
}

TEST_CASE("legacy checkpoints (format /1, no metadata CRC) load; their fields are validated all the same") {
  TempDir dir;
  Rng rng(12);
  Mlp<float> m({3, 4, 2}, rng);
  Momentum opt(m.parameters());
  const std::string path = dir / "old.safetensors";
  const auto legacy = [&](std::map<std::string, const char*> edits) {
    save_small(path, m, opt, rng);
    edits["format"] = "tapir-checkpoint/1";
    edits["metadata_crc32"] = nullptr;
    edit_metadata(path, edits);
  };
  Rng r(0);
  Mlp<float> target({3, 4, 2}, r);
  Momentum target_opt(target.parameters());
  legacy({});
  CHECK(load_checkpoint(path, target, &target_opt).step == 40);

  legacy({{"step", "-5000"}});
  check_throws_with([&] { load_checkpoint(path, target); }, {"old.safetensors", "'step'", "'-5000'", "non-negative"});
  legacy({{"step", "0x10"}});
  check_throws_with([&] { load_checkpoint(path, target); }, {"old.safetensors", "'step'", "'0x10'"});
  legacy({{"step", " 12"}});
  check_throws_with([&] { load_checkpoint(path, target); }, {"'step'"});
  legacy({{"rng", "0000000000000000:0000000000000000:0000000000000000:0000000000000000:0:0000000000000000"}});
  check_throws_with([&] { load_checkpoint(path, target); }, {"old.safetensors", "'rng'", "all zero"});

  // A negative learning rate, a NaN in the state: named with the file and the key.
  save_small(path, m, opt, rng);
  NamedTensors t = read_safetensors(path);
  t.metadata["format"] = "tapir-checkpoint/1";
  t.metadata.erase("metadata_crc32");
  NamedTensors negative = t;
  negative.f32.at("optim.lr") = Array<float>(-0.5f);
  write_safetensors(path, negative);
  check_throws_with([&] { load_checkpoint(path, target, &target_opt); },
                    {"old.safetensors", "'optim.lr'", "-0.5", "learning rate"});
  NamedTensors nan_state = t;
  nan_state.f32.at("optim.velocity.0").data()[0] = std::nanf("");
  write_safetensors(path, nan_state);
  check_throws_with([&] { load_checkpoint(path, target, &target_opt); },
                    {"old.safetensors", "'optim.velocity.0'", "not a number"});
  NamedTensors overflowed = t;  // a moment that overflowed float on a diverging run is the optimizer's own
  overflowed.f32.at("optim.velocity.0").data()[0] = INFINITY;
  write_safetensors(path, overflowed);
  CHECK(load_checkpoint(path, target, &target_opt).step == 40);
  NamedTensors bad_step = t;
  bad_step.f32.at("optim.step").data()[1] = 0.5f;
  write_safetensors(path, bad_step);
  check_throws_with([&] { load_checkpoint(path, target, &target_opt); }, {"'optim.step'", "whole numbers"});
}

namespace {
/// A safetensors file: the 8-byte length, `header` padded with spaces to 8 bytes, then `data`.
std::vector<char> safetensors_bytes(std::string header, const std::vector<char>& data = {}) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::vector<char> b;
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}
}  // namespace

TEST_CASE("a checkpoint path that is a directory is named as one (was std::bad_alloc or a garbage length)") {
  TempDir dir;
  const std::string path = dir / "checkpoint_last.safetensors";
  fs::create_directory(path);
  check_throws_with([&] { read_safetensors(path); }, {path, "is a directory", "expected a regular file"});
  Rng rng(1);
  Mlp<float> m({2, 2}, rng);
  check_throws_with([&] { load_checkpoint(path, m); }, {path, "is a directory"});
  check_throws_with([&] { read_safetensors(dir / "missing.safetensors"); }, {"missing.safetensors", "No such file"});
}

TEST_CASE("a shape whose byte count wraps past 2^64 is refused, not allocated") {
  // 2^32 × 2^32 F32 elements need 2^66 bytes, which wrapped to 0 and matched empty data_offsets.
  TempDir dir;
  const std::string path = dir / "wrap.safetensors";
  write_bytes(path, safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"));
  check_throws_with([&] { read_safetensors(path); },
                    {path, "tensor 'w'", "(4294967296, 4294967296)", "more than 2^64 bytes"});
  const std::vector<char> b =
      safetensors_bytes(R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})");
  check_throws_with([&] { parse_safetensors(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), "in memory"); },
                    {"in memory", "more than 2^64 bytes"});
}
