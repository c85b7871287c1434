// Writes the synthetic data sets of synthetic_data.hpp into DIR (for the `tapir` command's tests).
//
//   make_synthetic_data DIR
#include <cstdio>

#include "synthetic_data.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  if (!tapir::test::write_synthetic_data(argv[1])) {
    std::fprintf(stderr, "make_synthetic_data: cannot write into %s\n", argv[1]);
    return 1;
  }
  return 0;
}
