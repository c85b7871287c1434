// tests/temp_dir.hpp — a fresh directory under /tmp for one test, removed with everything in it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace tapir::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/tapir-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

}  // namespace tapir::test
