#include "models/experiments/plan.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace tapir::models::experiments {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& text) {
  const bool plain = !text.empty() && text.find_first_not_of(
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_@%+=:,./-") == std::string::npos;
  if (plain) return text;
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string train_command(const RunJob& job, const std::string& tapir) {
  const VaeRunConfig& c = job.config;
  const std::string& method = c.train.method;
  const char* model = method == "aevb" ? "vae" : method == "wake-sleep" ? "wake-sleep" : method == "mcem" ? "mcem" : "";
  if (!*model)
    throw Error(fmt::format("{}: method '{}' has no `tapir train` line in a plan (aevb, wake-sleep and mcem do)",
                            job.label, method));
  const std::string dir = fs::absolute(job.dir).lexically_normal().string();
  const std::string data = fs::absolute(c.train.data_dir).lexically_normal().string();

  // What `tapir train MODEL` makes of these flags: the paper's setup with each flag in place of its default.
  VaeRunConfig expect = paper_vae_setup(c.train.dataset, c.model.z_dim);
  expect.train.method = method;
  std::string flags =
      fmt::format("--dataset {} --data {} --latent {} --samples {} --seed {}", shell_quote(c.train.dataset),
                  shell_quote(data), c.model.z_dim, c.train.samples, c.train.seed);
  expect.train.data_dir = c.train.data_dir;
  expect.train.samples = c.train.samples;
  expect.train.seed = c.train.seed;
  if (c.model.hidden != expect.model.hidden) {
    flags += fmt::format(" --hidden {}", fmt::join(c.model.hidden, ","));
    expect.model.hidden = c.model.hidden;
  }
  const auto count_flag = [&](const char* flag, auto value, auto& expected) {
    if (value == expected) return;
    flags += fmt::format(" {} {}", flag, value);
    expected = value;
  };
  count_flag("--train-eval-size", c.train.train_eval_size, expect.train.train_eval_size);
  count_flag("--eval-every", c.train.eval_every, expect.train.eval_every);
  count_flag("--ais-points", c.train.ais_eval_size, expect.train.ais_eval_size);
  count_flag("--ais-steps", c.train.ais_steps, expect.train.ais_steps);
  count_flag("--ais-chains", c.train.ais_chains, expect.train.ais_chains);
  count_flag("--adagrad-accumulator", c.train.adagrad_accumulator, expect.train.adagrad_accumulator);  // {}: exact
  const auto differences = nlohmann::json::diff(expect.to_json(), c.to_json());
  if (!differences.empty())
    throw Error(
        fmt::format("{}: its configuration sets {}, which `tapir train` has no flag for: it cannot be a "
                    "line of a plan",
                    job.label, differences.front().value("path", std::string("?"))));

  const std::string d = shell_quote(dir), t = shell_quote(tapir);
  return fmt::format("if [ -e {} ]; then {} train --resume {}; else {} train {} {} --out {}; fi",
                     shell_quote(dir + "/config.json"), t, d, t, model, flags, d);
}

}  // namespace tapir::models::experiments
