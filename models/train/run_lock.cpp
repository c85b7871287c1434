// tapir/models/train/run_lock.cpp — flock(2) on DIR/.lock (see run_lock.hpp).
#include "models/train/run_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "autodiff/array.hpp"  // tapir::Error
#include "nn/io/atomic_file.hpp"

namespace tapir::models {

namespace {
/// The pid written in the lock file, or 0 when it cannot be read (its holder may not have written it yet).
long holder_of(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  char* end = nullptr;
  const long pid = std::strtol(buf, &end, 10);
  return pid > 0 ? pid : 0;
}
}  // namespace

RunLock::RunLock(const std::string& dir) : dir_(dir) {
  const std::string path = (std::filesystem::path(dir) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) throw Error(fmt::format("cannot lock '{}': {} (open of {})", dir, std::strerror(errno), path));
  int r;
  do r = ::flock(fd_, LOCK_EX | LOCK_NB);
  while (r != 0 && errno == EINTR);
  if (r != 0) {
    const int err = errno;
    const long pid = err == EWOULDBLOCK ? holder_of(fd_) : 0;
    ::close(fd_);
    if (err != EWOULDBLOCK) throw Error(fmt::format("cannot lock '{}': {} (flock)", dir, std::strerror(err)));
    if (pid > 0) throw Error(fmt::format("'{}' is in use by process {}", dir, pid));
    throw Error(fmt::format("'{}' is in use by another process", dir));
  }
  // Ours: record who holds it (for the other process's message; the lock itself is the flock).
  const std::string pid = fmt::format("{}\n", static_cast<long>(::getpid()));
  if (::ftruncate(fd_, 0) == 0) {
    const ssize_t w = ::pwrite(fd_, pid.data(), pid.size(), 0);
    (void)w;  // only informative: a failed write leaves the lock held all the same
  }
  remove_stale_temporaries(dir);  // killed writers'; no one else writes here while we hold the lock
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace tapir::models
