// tapir/autodiff/version.hpp — which tapir this is: the release, and the commit it was built from.
#pragma once

#include <string>

namespace tapir {

/// The release, as in CMakeLists.txt's project(): "0.1.0".
const char* version();
/// The git commit the library was built from, read at every build: "3f2a9c1d0e4b", with "-dirty" when the
/// library's or the command's sources (autodiff/, nn/, models/, cmake/, CMakeLists.txt) differed from it, new
/// files included, and "-dirty?" when that could not be told; "unknown" when it was built outside tapir's own
/// git checkout (a tarball, a copy vendored into another repository), or git was missing or refused the
/// checkout (configure then warns).
const char* build_commit();
/// "tapir 0.1.0 (3f2a9c1d0e4b)": what `tapir --version` prints first and what a run's config.json and
/// checkpoints record as "tapir", so that a number on record can be traced to its code.
std::string version_string();

}  // namespace tapir
