// Writes the synthetic data sets of synthetic_data.hpp into DIR (for the `tapir` command's tests).
//
//   make_synthetic_data DIR [--labels]      (--labels: MNIST-shaped label files too, labels i mod 10)
#include <cstdio>
#include <string>

#include "synthetic_data.hpp"

int main(int argc, char** argv) {
  const bool labels = argc == 3 && std::string(argv[2]) == "--labels";
  if (argc != 2 && !labels) {
    std::fprintf(stderr, "usage: %s DIR [--labels]\n", argv[0]);
    return 2;
  }
  if (!tapir::test::write_synthetic_data(argv[1]) || (labels && !tapir::test::write_synthetic_labels(argv[1]))) {
    std::fprintf(stderr, "make_synthetic_data: cannot write into %s\n", argv[1]);
    return 1;
  }
  return 0;
}
