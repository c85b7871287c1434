// tapir/autodiff/parallel.hpp — tapir's own threads (beside BLAS's): a deterministic parallel loop and
// control of the BLAS library's thread count.
//
// Determinism: parallel_for runs task i exactly once whatever the thread count; results do not depend
// on the thread count as long as the caller's split into tasks does not (fixed-size chunks, one Rng
// stream per task, results combined in task order afterwards).
//
// BLAS: a product called from several of tapir's threads at once must not also fan out on BLAS's own
// threads (two cores, four busy threads). BlasThreadsGuard(1) pins the library to one thread for a
// scope; parallel_for does not do it by itself, because its tasks may not call BLAS at all.
#pragma once

#include <cstddef>
#include <functional>

#include "autodiff/blas.hpp"  // BlasThreadsGuard, for tasks that call BLAS

namespace tapir {

/// Threads tapir's own parallel loops use: set_num_threads(n), else TAPIR_NUM_THREADS, else the
/// hardware's concurrency. Always ≥ 1.
std::size_t num_threads();
/// Sets it for the process (0 = back to the default above).
void set_num_threads(std::size_t n);

/// Runs fn(0), …, fn(tasks − 1), each exactly once, on up to num_threads() threads (the calling thread
/// included); tasks are handed out in order. Returns when all are done. If tasks throw, the exception
/// of the lowest-numbered throwing task is rethrown after every started task has finished, and tasks
/// not yet started are skipped.
void parallel_for(std::size_t tasks, const std::function<void(std::size_t)>& fn);

}  // namespace tapir
