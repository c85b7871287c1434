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
#include <type_traits>
#include <utility>

#include "autodiff/blas.hpp"  // BlasThreadsGuard, for tasks that call BLAS

namespace tapir {

/// Threads tapir's own parallel loops use: set_num_threads(n), else TAPIR_NUM_THREADS, else the
/// hardware's concurrency. Always ≥ 1.
std::size_t num_threads();
/// Sets it for the process (0 = back to the default above).
void set_num_threads(std::size_t n);

/// A callable passed by reference, without std::function's heap copy (a training step's loops allocate
/// nothing). It refers to the caller's callable, which must outlive the call it is passed to.
template <class... Args>
class FunctionRef {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(const F& f)  // NOLINT(google-explicit-constructor): lambdas convert at the call
      : obj_(&f), call_([](const void* o, Args... a) { (*static_cast<const F*>(o))(std::forward<Args>(a)...); }) {}
  void operator()(Args... a) const { call_(obj_, std::forward<Args>(a)...); }

 private:
  const void* obj_;
  void (*call_)(const void*, Args...);
};

/// Runs fn(0), …, fn(tasks − 1), each exactly once, on up to num_threads() threads (or max_threads,
/// if smaller and not 0; the calling thread included); tasks are handed out in order. Returns when all
/// are done. If tasks throw, the exception of the lowest-numbered throwing task is rethrown after every
/// started task has finished, and tasks not yet started are skipped.
/// The threads are a persistent pool: its workers spin for about 200 µs after a loop (the next one in
/// a training step comes within microseconds), then sleep. One loop uses the pool at a time; a loop
/// started meanwhile on another thread, or inside a task, runs its tasks on its own calling thread.
void parallel_for(std::size_t tasks, FunctionRef<std::size_t> fn, std::size_t max_threads = 0);

/// fn(lo, hi) over [0, n) in chunks of `grain` elements (the last one shorter), in parallel when there
/// is more than one chunk. The split depends on n and grain only, never on the thread count.
void parallel_chunks(std::size_t n, std::size_t grain, FunctionRef<std::size_t, std::size_t> fn);

/// True inside a parallel_for task (and on the pool's threads): a parallel_for there runs its tasks
/// inline, on the calling thread.
bool in_parallel_task();

}  // namespace tapir
