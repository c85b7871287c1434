// tapir/models/train/run_lock.hpp — one writer per run directory: an advisory lock (flock) on the file
// `.lock` inside it, holding the pid of the process that writes the run.
//
// Every process that writes a run (tapir train, train --resume, the runs of tapir reproduce) holds the
// lock from before it reads the run's state until it is done; a second one fails at once with
// "'RUN' is in use by process N". The kernel releases the lock when its holder exits, however it
// exits (kill -9 included), so a lock is never stale; `.lock` itself stays in the directory (removing it
// would let two processes lock two different files of one name).
#pragma once

#include <string>

namespace tapir::models {

class RunLock {
 public:
  /// Locks `dir` (which must exist), or throws tapir::Error: "'DIR' is in use by process N" when another
  /// process (or another RunLock of this process) holds it, or naming the failing call. Once locked,
  /// removes the temporaries killed writers left in `dir` (remove_stale_temporaries, nn/io/atomic_file.hpp).
  explicit RunLock(const std::string& dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int fd_ = -1;
};

}  // namespace tapir::models
