// tapir/nn/io/read_file.cpp — open, fstat (regular file, length), read everything (POSIX).
#include "nn/io/read_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "autodiff/array.hpp"  // tapir::Error

namespace tapir {

namespace {

/// Closes the descriptor however the read ends.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

}  // namespace

void check_regular_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw Error(fmt::format("{}: cannot open for reading: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{}: is {}, expected a regular file", path, kind_of(st.st_mode)));
}

std::vector<std::uint8_t> read_regular_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) throw Error(fmt::format("{}: cannot open for reading: {}", path, std::strerror(errno)));
  struct stat st;
  if (::fstat(f.fd, &st) != 0) throw Error(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{}: is {}, expected a regular file", path, kind_of(st.st_mode)));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::vector<std::uint8_t> bytes;
  try {
    bytes.resize(size);
  } catch (const std::exception&) {  // std::bad_alloc, std::length_error
    throw Error(fmt::format("{}: the file's {} bytes do not fit in memory", path, size));
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t r = ::read(f.fd, bytes.data() + done, std::min<std::size_t>(bytes.size() - done, 1u << 30));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) throw Error(fmt::format("{}: read error at byte {}: {}", path, done, std::strerror(errno)));
    if (r == 0) throw Error(fmt::format("{}: the file shrank from {} to {} bytes while it was read", path, size, done));
    done += static_cast<std::size_t>(r);
  }
  char extra;
  if (::read(f.fd, &extra, 1) > 0) throw Error(fmt::format("{}: the file grew while it was read", path));
  return bytes;
}

std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& source, const std::string& what) {
  std::size_t r;
  if (__builtin_mul_overflow(a, b, &r))
    throw Error(fmt::format("{}: {} = {} × {} overflows 64-bit sizes", source, what, a, b));
  return r;
}

}  // namespace tapir
