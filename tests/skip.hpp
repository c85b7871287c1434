// tests/skip.hpp — ending an optional test case as skipped (see tests/test_main.cpp).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tapir::test {

/// Prints why and ends the process with CTest's skip code 77 (SKIP_RETURN_CODE in tests/CMakeLists.txt).
/// Only for "[optional] …" test cases, which run in a process of their own.
[[noreturn]] inline void skip_test(const std::string& why) {
  std::printf("SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
  std::_Exit(77);
}

}  // namespace tapir::test
