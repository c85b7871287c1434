// The doctest main of every test executable. Test cases named "[optional] …" need something a machine
// may lack (../shared/data, python3): they are left out of the executable's own run and registered as
// CTest tests of their own (tests/CMakeLists.txt), which report SKIPPED when tapir::test::skip_test ends
// them with exit code 77.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>

int main(int argc, char** argv) {
  doctest::Context context;
  bool chosen = false;  // the caller picked test cases: run what they asked for
  for (int i = 1; i < argc; ++i)
    chosen = chosen || std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0;
  if (!chosen) context.addFilter("test-case-exclude", "[optional]*");
  context.applyCommandLine(argc, argv);
  return context.run();
}
