#include "models/experiments/jobs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <thread>

namespace tapir::models::experiments {

namespace fs = std::filesystem;

namespace {

/// The curve of the run in `dir`; empty when it has none yet.
std::vector<CurvePoint> curve_of(const std::string& dir) {
  const fs::path path = fs::path(dir) / "curve.csv";
  return fs::exists(path) ? read_curve(path.string()) : std::vector<CurvePoint>{};
}

/// Throws unless job.dir's config.json is job.config, but for where the data is and the budget (a run may
/// be continued to more samples, on another machine): a run or record of another configuration must not
/// be resumed, kept or tabulated as this one.
void check_same_config(const RunJob& job) {
  auto recorded = load_vae_run_config(job.dir).to_json(), expected = job.config.to_json();
  for (auto* j : {&recorded, &expected}) {
    (*j)["train"].erase("data_dir");
    (*j)["train"].erase("samples");
  }
  if (recorded == expected) return;
  std::string differ;
  for (const char* part : {"vae", "train"})
    for (const auto& [key, value] : expected[part].items())
      if (!recorded[part].contains(key) || recorded[part][key] != value)
        differ += fmt::format("{}{}.{}: {} here, {} expected", differ.empty() ? "" : "; ", part, key,
                              recorded[part].contains(key) ? recorded[part][key].dump() : "none", value.dump());
  throw Error(
      fmt::format("'{}' {} another configuration than this run's ({}): move the directory away, or use "
                  "another --out",
                  (fs::path(job.dir) / "config.json").string(), holds_run(job.dir) ? "holds a run of" : "records",
                  differ.empty() ? "extra keys" : differ));
}

/// Trains, resumes or keeps one run (see run_jobs).
void train_or_resume(const RunJob& job, const ProgressFn& progress, const std::atomic<bool>* stop) {
  if (job_finished(job)) return;
  if (holds_run(job.dir))
    resume_vae(job.dir, job.config.train.samples, job.config.train.data_dir, progress, stop);
  else  // a run that never reached a checkpoint starts over (train_vae allows that)
    train_vae(job.config, job.dir, progress, stop);
}

}  // namespace

bool job_finished(const RunJob& job) {
  if (!holds_run(job.dir)) return false;
  check_same_config(job);
  const auto curve = curve_of(job.dir);
  return !curve.empty() && curve.back().samples >= job.config.train.samples;
}

bool job_recorded(const RunJob& job) {
  if (holds_run(job.dir) || !fs::exists(fs::path(job.dir) / "config.json")) return false;
  const auto curve = curve_of(job.dir);
  if (curve.empty() || curve.back().samples < job.config.train.samples) return false;
  check_same_config(job);
  return true;
}

std::vector<RunJob> not_recorded(const std::vector<RunJob>& jobs) {
  std::vector<RunJob> out;
  std::copy_if(jobs.begin(), jobs.end(), std::back_inserter(out), [](const RunJob& job) { return !job_recorded(job); });
  return out;
}

std::string job_state(const RunJob& job) {
  if (job_recorded(job)) return "finished (on record: no checkpoint)";
  if (!holds_run(job.dir)) return "not started";
  const auto curve = curve_of(job.dir);
  if (curve.empty()) return "no evaluation yet";
  if (curve.back().samples >= job.config.train.samples) return "finished";
  return fmt::format("{} of {} samples", curve.back().samples, job.config.train.samples);
}

bool run_jobs(const std::vector<RunJob>& runs, int jobs, const Observer& observer, std::atomic<bool>* stop) {
  if (jobs < 1) throw Error(fmt::format("run_jobs: jobs = {}: need at least one run at a time", jobs));
  std::atomic<bool> own_stop{false};
  std::atomic<bool>& halt = stop ? *stop : own_stop;
  std::atomic<std::size_t> next{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  const auto worker = [&] {
    for (std::size_t i; (i = next++) < runs.size() && !halt.load();) {
      const RunJob& job = runs[i];
      try {
        train_or_resume(job, observer.on_start(i, job.label), &halt);
        observer.on_finish(i);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(errors_mutex);
        errors.push_back(fmt::format("{}: {}", job.label, e.what()));
        halt.store(true);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < std::min<int>(jobs, static_cast<int>(runs.size())); ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!errors.empty()) throw Error(errors.front());
  return !halt.load();
}

std::vector<RunJob> longest_first(std::vector<RunJob> jobs) {
  const auto work = [](const RunJob& job) {
    const auto& m = job.config.model;
    std::vector<std::size_t> enc = {m.x_dim};  // x → hidden… → (μ, log σ²); the decoder mirrors it
    enc.insert(enc.end(), m.hidden.begin(), m.hidden.end());
    double macs = 0;
    for (std::size_t i = 0; i + 1 < enc.size(); ++i) macs += 2.0 * double(enc[i] * enc[i + 1]);
    macs += double(enc.back()) * double(3 * m.z_dim);  // 2·N_z out of the encoder, N_z into the decoder
    const std::string& method = job.config.train.method;
    const double per_sample = method == "mcem" ? 8 : method == "wake-sleep" ? 1.6 : 1;
    const auto curve = curve_of(job.dir);
    const long long done = curve.empty() ? 0 : curve.back().samples;
    return double(std::max<long long>(0, job.config.train.samples - done)) * macs * per_sample;
  };
  std::vector<std::pair<double, RunJob>> keyed;
  for (auto& job : jobs) keyed.emplace_back(work(job), std::move(job));
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<RunJob> out;
  for (auto& k : keyed) out.push_back(std::move(k.second));
  return out;
}

std::vector<RunOutcome> read_outcomes(const std::vector<RunJob>& runs) {
  std::vector<RunOutcome> out;
  for (const auto& job : runs) {
    const auto curve = curve_of(job.dir);
    out.push_back({job, curve.empty() ? std::nullopt : std::optional<CurvePoint>(curve.back())});
  }
  return out;
}

}  // namespace tapir::models::experiments
