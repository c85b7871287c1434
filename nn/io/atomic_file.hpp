// tapir/nn/io/atomic_file.hpp — the one way tapir writes a file: all of it or none of it.
//
// Every file tapir writes (checkpoints, curves, PNGs, run records) goes through
// write_file_atomically, so a crash, a full disk or a kill mid-write leaves either the previous
// file or the new one at `path`, never a truncated mix. The caller owns the bytes; nothing is kept
// after the call returns.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tapir {

/// Replaces the file at `path` with exactly `bytes`, atomically and durably:
///   1. create a unique temporary `path.tmp.<pid>.<n>` in the same directory (open with
///      O_CREAT | O_EXCL, mode 0666 minus the umask, as std::ofstream would),
///   2. write every byte (retrying partial writes and EINTR), fsync it, close it,
///   3. rename it over `path` (atomic within one file system: readers see the old or the new file),
///   4. fsync the containing directory, so the rename itself survives a power loss (skipped when the
///      directory cannot be opened for reading or its file system does not sync directories).
/// A file already at `path` is replaced (its permissions become the new file's); a symlink at
/// `path` is replaced by a regular file, not followed.
/// On any failure the temporary file is removed, `path` is left as it was, and tapir::Error is thrown
/// naming the path, the reason and the failing call, e.g.
///   "cannot write 'run/curve.csv': No space left on device (write)".
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Removes, from directory `dir` (not its subdirectories), the temporary files writers killed mid-write
/// left behind: `NAME.tmp.<pid>.<n>` (write_file_atomically's), and the names earlier tapir versions
/// used, `NAME.tmp-XXXXXX` and `NAME.tmp`. A live writer's temporary has such a name too: call this only
/// while no one else writes into `dir` (tapir's runs hold their directory's lock). Returns the names
/// removed; a file that cannot be removed is skipped.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

}  // namespace tapir
