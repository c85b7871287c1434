// tapir/nn/io/atomic_file.cpp — temporary file, write, fsync, rename, fsync of the directory (POSIX).
#include "nn/io/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "autodiff/array.hpp"  // tapir::Error

namespace tapir {

namespace {

/// "cannot write '<path>': <strerror(err)> (<call>)".
[[noreturn]] void fail(const std::string& path, int err, const char* call) {
  throw Error(fmt::format("cannot write '{}': {} ({})", path, std::strerror(err), call));
}

/// The directory holding `path`: "a/b" → "a", "b" → ".", "/b" → "/".
std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// Opens a fresh temporary file next to `path`; the name is unique within this process (pid and a
/// counter), and O_EXCL with a retry skips any leftover of a crashed process that had the same pid.
int open_temporary(const std::string& path, std::string& tmp) {
  static std::atomic<unsigned long> counter{0};
  for (int attempt = 0;; ++attempt) {
    tmp = fmt::format("{}.tmp.{}.{}", path, static_cast<long>(::getpid()), counter++);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno == EINTR || (errno == EEXIST && attempt < 100)) continue;
    fail(path, errno, "open");
  }
}

/// Writes all n bytes to fd (write(2) may write fewer than asked, or be interrupted before writing
/// any); returns 0, or the errno of the write that failed.
int write_all(int fd, const char* bytes, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, bytes, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    if (w == 0) return EIO;  // no progress and no error: do not spin
    bytes += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

int fsync_retrying(int fd) {
  int r;
  do r = ::fsync(fd);
  while (r != 0 && errno == EINTR);
  return r;
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  if (path.empty()) throw Error("write_file_atomically: the path is empty");
  // The rename would replace whatever `path` names: a device (/dev/null), a FIFO or a directory is refused.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw Error(fmt::format("cannot write '{}': it exists and is not a regular file", path));
  std::string tmp;
  const int fd = open_temporary(path, tmp);
  // Until the rename, any failure closes and removes the temporary file; `path` is untouched.
  const auto discard = [&](int err, const char* call, bool close_fd) {
    if (close_fd) ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, err, call);
  };
  if (const int err = write_all(fd, bytes.data(), bytes.size())) discard(err, "write", true);
  if (fsync_retrying(fd) != 0) discard(errno, "fsync", true);
  // On Linux the descriptor is released even when close reports EINTR; the data is already synced.
  if (::close(fd) != 0 && errno != EINTR) discard(errno, "close", false);
  if (::rename(tmp.c_str(), path.c_str()) != 0) discard(errno, "rename", false);

  // The new file is in place; make its directory entry durable too.
  const int dfd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;  // e.g. a write-only directory: the rename stands, without the directory sync
  const int r = fsync_retrying(dfd);
  const int err = errno;
  ::close(dfd);
  if (r != 0 && err != EINVAL && err != ENOTSUP) fail(path, err, "fsync of its directory");
}

namespace {
bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

/// NAME.tmp, NAME.tmp-XXXXXX (6 characters) or NAME.tmp.<pid>.<n>, with NAME non-empty.
bool is_temporary_name(const std::string& name) {
  const auto at = name.rfind(".tmp");
  if (at == std::string::npos || at == 0) return false;
  const std::string rest = name.substr(at + 4);
  if (rest.empty()) return true;
  if (rest[0] == '-') return rest.size() == 7;
  if (rest[0] != '.') return false;
  const auto dot = rest.find('.', 1);
  return dot != std::string::npos && all_digits(rest.substr(1, dot - 1)) && all_digits(rest.substr(dot + 1));
}
}  // namespace

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!is_temporary_name(name) || !it->is_regular_file(type_ec)) continue;
    std::error_code rm_ec;
    if (fs::remove(it->path(), rm_ec)) removed.push_back(name);
  }
  return removed;
}

}  // namespace tapir
