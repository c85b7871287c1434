// tapir/models/data/idx.cpp
#include "models/data/idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "autodiff/array.hpp"

namespace tapir::models::data {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(fmt::format("{}: {}", path, what));
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}

std::vector<std::uint8_t> inflate_all(const std::uint8_t* data, std::size_t n, const std::string& path,
                                      std::size_t offset, bool gzip) {
  z_stream zs{};
  if (inflateInit2(&zs, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) fail(path, "zlib initialisation failed");
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> chunk(1 << 20);
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(n);
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string msg = zs.msg ? zs.msg : "unknown error";
      const std::size_t at = offset + zs.total_in;
      inflateEnd(&zs);
      fail(path, fmt::format("{} data is corrupt or truncated near compressed byte {}: {}", gzip ? "gzip" : "zlib", at,
                             rc == Z_BUF_ERROR ? "unexpected end of data" : msg));
    }
    out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - zs.avail_out));
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

std::vector<std::uint8_t> read_file_maybe_gzip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, fmt::format("cannot open: {}", std::strerror(errno)));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
    return inflate_all(bytes.data(), bytes.size(), path, 0, true);
  return bytes;
}

IdxArray read_idx(const std::string& path, std::size_t expected_rank) {
  const std::vector<std::uint8_t> b = read_file_maybe_gzip(path);
  if (b.size() < 4) fail(path, fmt::format("{} bytes: too short for an IDX magic number (4 bytes)", b.size()));
  if (b[0] != 0 || b[1] != 0)
    fail(path, fmt::format("not an IDX file: magic bytes {:02x} {:02x} {:02x} {:02x} (expected 00 00 08 <rank>)", b[0],
                           b[1], b[2], b[3]));
  if (b[2] != 0x08)
    fail(path, fmt::format("IDX element type 0x{:02x} is not supported (expected 0x08, unsigned bytes)", b[2]));
  const std::size_t rank = b[3];
  if (rank == 0) fail(path, "IDX rank 0 (byte 3) is invalid");
  if (expected_rank && rank != expected_rank)
    fail(path, fmt::format("IDX rank {} (magic 0x{:08x}), expected rank {} (magic 0x{:08x})", rank, be32(b.data()),
                           expected_rank, 0x800 + expected_rank));
  const std::size_t header = 4 + 4 * rank;
  if (b.size() < header)
    fail(path, fmt::format("truncated IDX header: {} bytes, the {} dimensions need {}", b.size(), rank, header));
  IdxArray out;
  std::size_t n = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    out.dims.push_back(be32(b.data() + 4 + 4 * i));
    n *= out.dims.back();
  }
  if (b.size() != header + n)
    fail(path, fmt::format("IDX dims {} need {} data bytes after the {}-byte header, the file has {}{}",
                           fmt::join(out.dims, "×"), n, header, b.size() - header,
                           b.size() < header + n ? " (truncated)" : " (trailing bytes)"));
  out.values.assign(b.begin() + static_cast<long>(header), b.end());
  return out;
}

namespace {
constexpr std::uint32_t miINT8 = 1, miUINT8 = 2, miINT32 = 5, miUINT32 = 6, miDOUBLE = 9, miMATRIX = 14,
                        miCOMPRESSED = 15;

/// A MAT-file data element: its type, and the payload's [begin, end) within `buf`.
struct Element {
  std::uint32_t type;
  std::size_t begin, end, next;
};

Element read_tag(const std::vector<std::uint8_t>& buf, std::size_t at, const std::string& path, std::size_t base) {
  if (at + 8 > buf.size()) fail(path, fmt::format("truncated MAT element tag at byte {}", base + at));
  const std::uint32_t first = le32(buf.data() + at);
  if ((first >> 16) != 0) {  // small data element: 2-byte size, 2-byte type, 4 bytes of payload
    const std::size_t size = first >> 16;
    if (size > 4) fail(path, fmt::format("bad small MAT element at byte {}", base + at));
    return {first & 0xffff, at + 4, at + 4 + size, at + 8};
  }
  const std::size_t size = le32(buf.data() + at + 4);
  if (at + 8 + size > buf.size())
    fail(path, fmt::format("MAT element at byte {} declares {} bytes but only {} remain (truncated)", base + at, size,
                           buf.size() - at - 8));
  const std::size_t padded = first == miCOMPRESSED ? size : (size + 7) / 8 * 8;
  return {first, at + 8, at + 8 + size, std::min(buf.size(), at + 8 + padded)};
}
}  // namespace

MatMatrix read_mat_matrix(const std::string& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, fmt::format("cannot open: {}", std::strerror(errno)));
  const std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < 128 || std::memcmp(file.data(), "MATLAB 5.0 MAT-file", 19) != 0)
    fail(path, "not a MATLAB level-5 MAT-file (the 128-byte header does not start with 'MATLAB 5.0 MAT-file')");
  if (file[126] != 'I' || file[127] != 'M')
    fail(path, "MAT-file endian indicator (bytes 126–127) is not 'IM': only little-endian files are supported");
  std::vector<std::string> seen;
  std::size_t at = 128;
  while (at < file.size()) {
    Element e = read_tag(file, at, path, 0);
    std::vector<std::uint8_t> inflated;
    const std::vector<std::uint8_t>* buf = &file;
    std::size_t base = 0;
    if (e.type == miCOMPRESSED) {
      inflated = inflate_all(file.data() + e.begin, e.end - e.begin, path, e.begin, false);
      buf = &inflated;
      base = e.begin;
      e = read_tag(inflated, 0, path, base);
    }
    const std::size_t next = buf == &file ? e.next : at + 8 + (le32(file.data() + at + 4));
    if (e.type == miMATRIX) {
      // array flags, dimensions, name, real part
      Element flags = read_tag(*buf, e.begin, path, base);
      Element dims = read_tag(*buf, flags.next, path, base);
      Element nm = read_tag(*buf, dims.next, path, base);
      const std::string var(buf->begin() + static_cast<long>(nm.begin), buf->begin() + static_cast<long>(nm.end));
      seen.push_back(var);
      if (var == name) {
        if (dims.end - dims.begin != 8)
          fail(path, fmt::format("variable '{}' has {} dimensions, expected a 2-D matrix", name,
                                 (dims.end - dims.begin) / 4));
        MatMatrix m;
        m.name = var;
        m.rows = le32(buf->data() + dims.begin);
        m.cols = le32(buf->data() + dims.begin + 4);
        Element re = read_tag(*buf, nm.next, path, base);
        const std::size_t n = m.rows * m.cols;
        m.column_major.resize(n);
        if (re.type == miUINT8 || re.type == miINT8) {
          if (re.end - re.begin != n)
            fail(path, fmt::format("variable '{}' ({}×{}) holds {} bytes of data, expected {}", name, m.rows, m.cols,
                                   re.end - re.begin, n));
          std::memcpy(m.column_major.data(), buf->data() + re.begin, n);
        } else if (re.type == miDOUBLE) {
          if (re.end - re.begin != 8 * n)
            fail(path, fmt::format("variable '{}' ({}×{}) holds {} bytes of doubles, expected {}", name, m.rows, m.cols,
                                   re.end - re.begin, 8 * n));
          for (std::size_t i = 0; i < n; ++i) {
            double v;
            std::memcpy(&v, buf->data() + re.begin + 8 * i, 8);
            if (!(v >= 0 && v <= 255 && v == static_cast<int>(v)))
              fail(path, fmt::format("variable '{}': element {} is {}, not an integer in 0..255", name, i, v));
            m.column_major[i] = static_cast<std::uint8_t>(v);
          }
        } else {
          fail(path, fmt::format("variable '{}' stores data of MAT type {}; supported: miUINT8, miINT8, miDOUBLE", name,
                                 re.type));
        }
        return m;
      }
    }
    (void)miINT32;
    (void)miUINT32;
    at = next;
  }
  fail(path, fmt::format("no variable '{}' in the MAT-file (found: {})", name,
                         seen.empty() ? std::string("none") : fmt::format("{}", fmt::join(seen, ", "))));
}

}  // namespace tapir::models::data
