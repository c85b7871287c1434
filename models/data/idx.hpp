// tapir/models/data/idx.hpp — readers for the IDX format (MNIST, Fashion-MNIST) and MATLAB level-5
// MAT-files holding one numeric matrix (Frey Face's frey_rawface.mat, binarised MNIST .amat).
//
// Every reader returns raw bytes as uint8 with their dimensions; scaling and layout are the caller's
// (see dataset.hpp). Errors name the path and what was expected: magic numbers, sizes, byte offsets.
//
// No input makes a reader allocate more than the input justifies: a file is read whole only after
// fstat says it is a regular file and how long it is (nn/io/read_file.hpp); sizes computed from
// headers (dims products, byte counts) are checked for overflow and compared with the bytes present
// before anything is allocated for them; and decompressed output is bounded before it is produced:
// by kMaxInflateRatio × the compressed size (deflate cannot expand more), and for an IDX file or a MAT
// element by the size its own header declares. The in-memory forms below (parse_idx, parse_mat_matrix,
// maybe_gunzip) are what the fuzzers in tests/fuzz/ call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tapir::models::data {

/// An IDX file's payload: dims (e.g. {60000, 28, 28}) and the uint8 values in row-major order.
struct IdxArray {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> values;
};

/// Reads an IDX file of unsigned bytes (type code 0x08), plain or gzip-compressed (detected from
/// the first two bytes, so the file name does not matter). `expected_dims` = 0 accepts any rank.
IdxArray read_idx(const std::string& path, std::size_t expected_rank = 0);

/// A numeric matrix read from a MAT-file: rows × cols in MATLAB's column-major order, converted to
/// uint8 (the values must be integers in 0..255).
struct MatMatrix {
  std::string name;
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint8_t> column_major;
};

/// Reads the variable `name` from a MATLAB level-5 MAT-file (little-endian; the variable may be
/// stored plainly or zlib-compressed, as uint8 or double data). Throws naming the path, the byte
/// offset and what was found when the file is not such a file.
MatMatrix read_mat_matrix(const std::string& path, const std::string& name);

/// The dimensions in an IDX file's header (plain or gzip), read without the data that follows.
std::vector<std::size_t> read_idx_dims(const std::string& path, std::size_t expected_rank = 0);

/// The whole file, gunzipped when it starts with the gzip magic 1f 8b.
std::vector<std::uint8_t> read_file_maybe_gzip(const std::string& path);

/// deflate's largest expansion is 1032:1: a stream inflating to more than this many times its
/// compressed bytes is corrupt, and inflating stops there with an error (so no gzip or zlib input
/// makes a reader allocate more than 1032 × its size, or more than its IDX/MAT header declares).
inline constexpr std::size_t kMaxInflateRatio = 1032;

/// In memory: read_idx, read_mat_matrix and read_file_maybe_gzip on the bytes of a file; `source`
/// names them in errors.
IdxArray parse_idx(const std::vector<std::uint8_t>& bytes, const std::string& source, std::size_t expected_rank = 0);
MatMatrix parse_mat_matrix(const std::vector<std::uint8_t>& bytes, const std::string& source, const std::string& name);
std::vector<std::uint8_t> maybe_gunzip(std::vector<std::uint8_t> bytes, const std::string& source);

}  // namespace tapir::models::data
