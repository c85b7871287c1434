// tapir/models/data/idx.cpp
#include "models/data/idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "autodiff/array.hpp"
#include "nn/io/read_file.hpp"

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

/// A zlib or gzip stream inflated on demand: fill() produces only the bytes asked for, so a header can
/// be read and checked before the rest of the stream is decompressed.
class Inflater {
 public:
  Inflater(const std::uint8_t* data, std::size_t n, const std::string& source, std::size_t offset, bool gzip)
      : data_(data), n_(n), source_(source), offset_(offset), gzip_(gzip) {
    if (inflateInit2(&zs_, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) fail(source, "zlib initialisation failed");
  }
  ~Inflater() { inflateEnd(&zs_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  /// Inflates into `out` until it holds at least `want` bytes or the stream ends (then ended()).
  void fill(std::vector<std::uint8_t>& out, std::size_t want) {
    while (out.size() < want && !ended_) {
      if (zs_.avail_in == 0 && fed_ < n_) {  // zlib takes 32-bit lengths: feed at most 1 GiB at a time
        const std::size_t k = std::min<std::size_t>(n_ - fed_, 1u << 30);
        zs_.next_in = const_cast<Bytef*>(data_ + fed_);
        zs_.avail_in = static_cast<uInt>(k);
        fed_ += k;
      }
      const std::size_t old = out.size(), room = std::min<std::size_t>(want - old, 1u << 20);
      out.resize(old + room);
      zs_.next_out = out.data() + old;
      zs_.avail_out = static_cast<uInt>(room);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      out.resize(old + room - zs_.avail_out);
      if (rc == Z_STREAM_END) {
        ended_ = true;
      } else if (rc != Z_OK) {
        const std::string msg = rc == Z_BUF_ERROR ? "unexpected end of data" : zs_.msg ? zs_.msg : "unknown error";
        fail(source_, fmt::format("{} data is corrupt or truncated near compressed byte {}: {}",
                                  gzip_ ? "gzip" : "zlib", offset_ + zs_.total_in, msg));
      }
    }
  }
  bool ended() const { return ended_; }

 private:
  z_stream zs_{};
  const std::uint8_t* data_;
  std::size_t n_, fed_ = 0;
  const std::string& source_;
  std::size_t offset_;
  bool gzip_, ended_ = false;
};

/// The whole stream, refused once it exceeds `limit` bytes (`why` says where the limit comes from).
std::vector<std::uint8_t> inflate_all(const std::uint8_t* data, std::size_t n, const std::string& source,
                                      std::size_t offset, bool gzip, std::size_t limit, const std::string& why) {
  Inflater z(data, n, source, offset, gzip);
  std::vector<std::uint8_t> out;
  z.fill(out, limit == SIZE_MAX ? limit : limit + 1);
  if (out.size() > limit)
    fail(source, fmt::format("{} data at byte {} inflates to more than {} bytes, {}", gzip ? "gzip" : "zlib", offset,
                             limit, why));
  return out;
}

/// The most bytes `n` compressed bytes can legitimately inflate to.
std::size_t inflate_limit(std::size_t n, const std::string& source) {
  return checked_mul(n, kMaxInflateRatio, source, "the decompression limit (compressed bytes × 1032)");
}

bool is_gzip(const std::vector<std::uint8_t>& b) { return b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

/// Checks the IDX magic in the first 4 bytes of `b`; returns the header's length, 4 + 4 · rank.
std::size_t idx_header_size(const std::vector<std::uint8_t>& b, const std::string& source, std::size_t expected_rank) {
  if (b.size() < 4) fail(source, fmt::format("{} bytes: too short for an IDX magic number (4 bytes)", b.size()));
  if (b[0] != 0 || b[1] != 0)
    fail(source, fmt::format("not an IDX file: magic bytes {:02x} {:02x} {:02x} {:02x} (expected 00 00 08 <rank>)",
                             b[0], b[1], b[2], b[3]));
  if (b[2] != 0x08)
    fail(source, fmt::format("IDX element type 0x{:02x} is not supported (expected 0x08, unsigned bytes)", b[2]));
  const std::size_t rank = b[3];
  if (rank == 0) fail(source, "IDX rank 0 (byte 3) is invalid");
  if (expected_rank && rank != expected_rank)
    fail(source, fmt::format("IDX rank {} (magic 0x{:08x}), expected rank {} (magic 0x{:08x})", rank, be32(b.data()),
                             expected_rank, 0x800 + expected_rank));
  return 4 + 4 * rank;
}

/// The dimensions in bytes 4 .. `header` of `b`, and in `payload` their product (checked).
std::vector<std::size_t> idx_dims(const std::vector<std::uint8_t>& b, std::size_t header, const std::string& source,
                                  std::size_t& payload) {
  if (b.size() < header)
    fail(source,
         fmt::format("truncated IDX header: {} bytes, the {} dimensions need {}", b.size(), (header - 4) / 4, header));
  std::vector<std::size_t> dims;
  payload = 1;
  for (std::size_t i = 4; i < header; i += 4) {
    dims.push_back(be32(b.data() + i));
    if (__builtin_mul_overflow(payload, dims.back(), &payload))
      fail(source, fmt::format("IDX dims {} (bytes 4–{}) multiply to more than 2^64 bytes: not a valid IDX file",
                               fmt::join(dims, "×"), header - 1));
  }
  return dims;
}

/// Checks that `b` holds exactly the header and `payload` bytes; `known` is false when `b` is a
/// prefix of a longer stream (then trailing bytes exist but were not counted).
void check_idx_length(const std::vector<std::uint8_t>& b, std::size_t header, std::size_t payload,
                      const std::vector<std::size_t>& dims, const std::string& source, bool known) {
  if (b.size() - header == payload) return;
  const bool trailing = b.size() - header > payload;
  fail(source,
       fmt::format("IDX dims {} need {} data bytes after the {}-byte header, the file has {}{}{}", fmt::join(dims, "×"),
                   payload, header, trailing && !known ? "more than " : "",
                   trailing && !known ? payload : b.size() - header, trailing ? " (trailing bytes)" : " (truncated)"));
}

}  // namespace

std::vector<std::uint8_t> maybe_gunzip(std::vector<std::uint8_t> bytes, const std::string& source) {
  if (!is_gzip(bytes)) return bytes;
  return inflate_all(bytes.data(), bytes.size(), source, 0, true, inflate_limit(bytes.size(), source),
                     fmt::format("{} × its {} compressed bytes: corrupt", kMaxInflateRatio, bytes.size()));
}

std::vector<std::uint8_t> read_file_maybe_gzip(const std::string& path) {
  try {
    return maybe_gunzip(read_regular_file(path), path);
  } catch (const std::bad_alloc&) {
    fail(path, "out of memory while decompressing");
  }
}

IdxArray parse_idx(const std::vector<std::uint8_t>& bytes, const std::string& source, std::size_t expected_rank) {
  IdxArray out;
  std::size_t payload = 0;
  if (!is_gzip(bytes)) {
    const std::size_t header = idx_header_size(bytes, source, expected_rank);
    out.dims = idx_dims(bytes, header, source, payload);
    check_idx_length(bytes, header, payload, out.dims, source, true);
    out.values.assign(bytes.begin() + static_cast<long>(header), bytes.end());
    return out;
  }
  // gzip: inflate the header, check the size it declares, then inflate at most that much (and a byte).
  Inflater z(bytes.data(), bytes.size(), source, 0, true);
  std::vector<std::uint8_t> b;
  z.fill(b, 4);
  const std::size_t header = idx_header_size(b, source, expected_rank);
  z.fill(b, header);
  out.dims = idx_dims(b, header, source, payload);
  if (payload > inflate_limit(bytes.size(), source))
    fail(source, fmt::format("IDX dims {} declare {} data bytes, more than the {} compressed bytes can hold "
                             "({}:1 at most)",
                             fmt::join(out.dims, "×"), payload, bytes.size(), kMaxInflateRatio));
  b.reserve(header + payload + 1);  // inflated in place: no doubling (and copying) of a growing buffer
  z.fill(b, header + payload + 1);
  check_idx_length(b, header, payload, out.dims, source, z.ended());
  b.erase(b.begin(), b.begin() + static_cast<long>(header));
  out.values = std::move(b);
  return out;
}

IdxArray read_idx(const std::string& path, std::size_t expected_rank) {
  try {
    return parse_idx(read_regular_file(path), path, expected_rank);
  } catch (const std::bad_alloc&) {
    fail(path, "out of memory while reading");
  }
}

std::vector<std::size_t> read_idx_dims(const std::string& path, std::size_t expected_rank) {
  check_regular_file(path);
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(path, fmt::format("cannot open for reading: {}", std::strerror(errno)));
  std::vector<std::uint8_t> b(4 + 4 * 255);
  const int got = gzread(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
  if (got < 0) fail(path, "read error (gzip data corrupt?)");
  b.resize(static_cast<std::size_t>(got));
  const std::size_t header = idx_header_size(b, path, expected_rank);
  std::size_t payload;
  return idx_dims(b, header, path, payload);
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

MatMatrix parse_mat_matrix(const std::vector<std::uint8_t>& file, const std::string& path, const std::string& name) {
  if (file.size() < 128 || std::memcmp(file.data(), "MATLAB 5.0 MAT-file", 19) != 0)
    fail(path, "not a MATLAB level-5 MAT-file (the 128-byte header does not start with 'MATLAB 5.0 MAT-file')");
  if (file[126] != 'I' || file[127] != 'M')
    fail(path, "MAT-file endian indicator (bytes 126–127) is not 'IM': only little-endian files are supported");
  std::vector<std::string> seen;
  std::size_t at = 128;
  while (at < file.size()) {
    Element e = read_tag(file, at, path, 0);
    const std::size_t next = e.next;
    std::vector<std::uint8_t> inflated;
    const std::vector<std::uint8_t>* buf = &file;
    std::size_t base = 0;
    if (e.type == miCOMPRESSED) {
      // Inflate the inner element's tag, then at most the size it declares: never more than the
      // compressed bytes can hold.
      Inflater z(file.data() + e.begin, e.end - e.begin, path, e.begin, false);
      z.fill(inflated, 8);
      buf = &inflated;
      base = e.begin;
      if (inflated.size() == 8 && (le32(inflated.data()) >> 16) == 0) {
        const std::size_t declared = 8 + std::size_t(le32(inflated.data() + 4));
        if (declared > inflate_limit(e.end - e.begin, path))
          fail(path, fmt::format("compressed MAT element at byte {} declares {} bytes, more than its {} compressed "
                                 "bytes can hold ({}:1 at most)",
                                 at, declared - 8, e.end - e.begin, kMaxInflateRatio));
        z.fill(inflated, declared);
      }
      e = read_tag(inflated, 0, path, base);
    }
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
        const std::size_t n = checked_mul(m.rows, m.cols, path, fmt::format("variable '{}': rows × cols", name));
        const std::size_t have = re.end - re.begin;
        // Compare with the bytes present before allocating: the dimensions alone justify nothing.
        if (re.type == miUINT8 || re.type == miINT8) {
          if (have != n)
            fail(path, fmt::format("variable '{}' ({}×{}, dimensions at byte {}) holds {} bytes of data, expected {}",
                                   name, m.rows, m.cols, base + dims.begin, have, n));
          m.column_major.assign(buf->data() + re.begin, buf->data() + re.end);
        } else if (re.type == miDOUBLE) {
          if (have % 8 != 0 || have / 8 != n)
            fail(path, fmt::format("variable '{}' ({}×{}, dimensions at byte {}) holds {} bytes of doubles, expected "
                                   "{} × 8",
                                   name, m.rows, m.cols, base + dims.begin, have, n));
          m.column_major.resize(n);
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

MatMatrix read_mat_matrix(const std::string& path, const std::string& name) {
  try {
    return parse_mat_matrix(read_regular_file(path), path, name);
  } catch (const std::bad_alloc&) {
    fail(path, "out of memory while reading");
  }
}

}  // namespace tapir::models::data
