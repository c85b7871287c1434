// tapir/nn/io/read_file.hpp — the one way tapir reads a whole input file (data sets, checkpoints).
//
// The reader checks that `path` is a regular file and takes its length from fstat before it allocates,
// so a directory, a FIFO or a device gives a sentence naming the path, never "std::bad_alloc" or a
// length read out of garbage. Parsers then bound every allocation by the bytes they were given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tapir {

/// The bytes of the regular file at `path`. Throws tapir::Error naming the path when it cannot be
/// opened, is a directory or another kind of non-regular file, does not fit in memory, or changes
/// length while it is read.
std::vector<std::uint8_t> read_regular_file(const std::string& path);

/// Throws what read_regular_file would when `path` is not an existing regular file; returns otherwise.
void check_regular_file(const std::string& path);

/// `a · b`, or tapir::Error "<source>: <what> = a × b overflows 64-bit sizes" when it does not fit.
std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& source, const std::string& what);

}  // namespace tapir
