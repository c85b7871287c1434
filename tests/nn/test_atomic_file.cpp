// write_file_atomically: exact contents, replacement of an existing file, no temporary file left
// behind on success or failure, and errors that name the path and the failing call.
#include "nn/io/atomic_file.hpp"

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "autodiff/check.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using test::check_throws_with;
using test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The names of everything in `dir`, sorted.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("write_file_atomically writes exactly the bytes and replaces an existing file") {
  TempDir dir;
  const std::string path = dir / "curve.csv";
  write_file_atomically(path, "step,elbo\n1,-3.5\n");
  CHECK(read_all(path) == "step,elbo\n1,-3.5\n");

  write_file_atomically(path, "step,elbo\n");  // shorter than before: nothing of the old file remains
  CHECK(read_all(path) == "step,elbo\n");

  const std::string binary("a\0b\0\xff", 5);  // embedded NULs and high bytes survive
  write_file_atomically(path, binary);
  CHECK(read_all(path) == binary);

  std::string big(3u << 20, '\0');  // several MB: more than one write(2) may take
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 2654435761u >> 24);
  write_file_atomically(path, big);
  CHECK(read_all(path) == big);

  write_file_atomically(path, "");
  CHECK(fs::file_size(path) == 0);
  CHECK(entries(dir.path) == std::vector<std::string>{"curve.csv"});  // no temporary file left behind
}

TEST_CASE("write_file_atomically resolves a bare file name against the working directory") {
  TempDir dir;
  const fs::path before = fs::current_path();
  fs::current_path(dir.path);
  write_file_atomically("bare.txt", "x");
  fs::current_path(before);
  CHECK(read_all(dir / "bare.txt") == "x");
  CHECK(entries(dir.path) == std::vector<std::string>{"bare.txt"});
}

TEST_CASE("concurrent writers of one path never collide on a temporary file") {
  TempDir dir;
  const std::string path = dir / "shared.txt";
  const std::string a(100000, 'a'), b(100000, 'b');
  std::thread ta([&] {
    for (int i = 0; i < 20; ++i) write_file_atomically(path, a);
  });
  std::thread tb([&] {
    for (int i = 0; i < 20; ++i) write_file_atomically(path, b);
  });
  ta.join();
  tb.join();
  const std::string got = read_all(path);
  CHECK((got == a || got == b));  // one whole file, never a mix
  CHECK(entries(dir.path) == std::vector<std::string>{"shared.txt"});
}

TEST_CASE("a failed write throws naming the path and the call, and leaves no temporary file") {
  TempDir dir;
  const std::string good = dir / "good.txt";
  write_file_atomically(good, "kept");

  SUBCASE("the directory does not exist") {
    const std::string path = dir / "missing/dir/curve.csv";
    check_throws_with([&] { write_file_atomically(path, "x"); },
                      {"cannot write '" + path + "'", "No such file or directory", "(open)"});
    CHECK_FALSE(fs::exists(dir / "missing"));
  }
  SUBCASE("the path is a directory") {
    const std::string path = dir / "occupied";
    fs::create_directory(path);
    fs::create_directory(dir / "occupied/inside");  // non-empty: rename(2) can never replace it
    check_throws_with([&] { write_file_atomically(path, "x"); },
                      {"cannot write '" + path + "'", "it exists and is not a regular file"});
    CHECK(fs::is_directory(path));
    CHECK(entries(path) == std::vector<std::string>{"inside"});
  }
  SUBCASE("the path is a FIFO or a device: refused, not replaced by a regular file") {
    const std::string path = dir / "fifo";
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    check_throws_with([&] { write_file_atomically(path, "x"); }, {"cannot write '" + path + "'", "not a regular file"});
    CHECK(fs::is_fifo(path));
  }
  SUBCASE("a write fails midway (the file-size limit stands in for a full disk)") {
    // With RLIMIT_FSIZE at 1000 bytes, write(2) stores 1000 bytes and then fails with EFBIG (SIGXFSZ
    // ignored): the same path through the code as ENOSPC.
    rlimit old{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    rlimit small = old;
    small.rlim_cur = 1000;
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string message;
    try {
      write_file_atomically(good, std::string(5000, 'x'));
    } catch (const Error& e) {
      message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    CHECK(message == "cannot write '" + good + "': File too large (write)");
  }
  SUBCASE("an empty path") {
    check_throws_with([&] { write_file_atomically("", "x"); }, {"path is empty"});
  }
  CHECK(read_all(good) == "kept");
  const auto names = entries(dir.path);
  for (const auto& n : names) CHECK_MESSAGE(n.find(".tmp") == std::string::npos, "left behind: " << n);
}

TEST_CASE("remove_stale_temporaries removes what killed writers leave, and nothing else") {
  TempDir dir;
  const std::vector<std::string> stale = {"checkpoint_last.safetensors.tmp.4242.0", "curve.csv.tmp.1.17",
                                          "config.json.tmp", "checkpoint_best.safetensors.tmp-Ab12Cd"};
  const std::vector<std::string> kept = {"curve.csv",     "notes.tmp.txt", ".tmp",
                                         "a.tmp-toolong", "a.tmp.12",      "a.tmp.x.1"};
  for (const auto& n : stale) std::ofstream(dir / n) << "x";
  for (const auto& n : kept) std::ofstream(dir / n) << "x";
  fs::create_directory(dir / "sub.tmp");  // directories are not temporaries
  auto removed = remove_stale_temporaries(dir.path.string());
  std::sort(removed.begin(), removed.end());
  auto want = stale;
  std::sort(want.begin(), want.end());
  CHECK(removed == want);
  auto left = kept;
  left.push_back("sub.tmp");
  std::sort(left.begin(), left.end());
  CHECK(entries(dir.path) == left);
  CHECK(remove_stale_temporaries((dir.path / "missing").string()).empty());  // no directory: nothing to do
}
