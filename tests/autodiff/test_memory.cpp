// Tape reuse: 1000 training steps with fixed shapes allocate their buffers once. Asserted on the
// tape's allocation counter, on the live heap bytes and on the number of calls of a replaced
// operator new/delete (the backward closures are stored in the node slots: none per step).
#include <malloc.h>

#include <atomic>
#include <new>

#include "check.hpp"

namespace {
std::atomic<long long> g_live_bytes{0};
std::atomic<long long> g_news{0};  // operator new calls (the backward closures would be some)
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  g_live_bytes += static_cast<long long>(malloc_usable_size(p));
  ++g_news;
  return p;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  g_live_bytes -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

using namespace tapir;

TEST_CASE("1000 steps on one tape: no buffer is reallocated after the first step and the heap stays flat") {
  Rng rng(1);
  Parameter<float> w1(normal<float>(rng, {20, 32}, 0, 0.1f), "w1"), b1(Array<float>(xt::zeros<float>({32})), "b1");
  Parameter<float> w2(normal<float>(rng, {32, 20}, 0, 0.1f), "w2"), b2(Array<float>(xt::zeros<float>({20})), "b2");
  const Array<float> x0 = bernoulli<float>(rng, {16, 20}, 0.5f);
  Tape<float> tape;
  auto step = [&] {
    Var<float> x = tape.constant(x0);
    Var<float> h = tanh(matmul(x, tape.param(w1)) + tape.param(b1));
    Var<float> logits = matmul(h, tape.param(w2)) + tape.param(b2);
    Var<float> loss = sum(binary_cross_entropy_with_logits(logits, x)) + sum(logsumexp(h, 1));
    loss.backward();
    for (auto* p : {&w1, &b1, &w2, &b2}) {
      p->value() -= 0.01f * p->grad();
      p->zero_grad();
    }
    tape.clear();
  };
  step();
  const TapeStats after_first = tape.stats();
  CHECK(after_first.buffer_allocations > 0);
  for (int i = 0; i < 9; ++i) step();
  const long long live_at_10 = g_live_bytes.load(), news_at_10 = g_news.load();
  for (int i = 0; i < 990; ++i) step();
  // The ops' backward closures live inside the reused node slots: no operator new per step at all.
  CHECK(g_news.load() == news_at_10);
  const TapeStats after_1000 = tape.stats();
  CHECK(after_1000.buffer_allocations == after_first.buffer_allocations);
  CHECK(after_1000.slots == after_first.slots);
  CHECK(after_1000.bytes_reserved == after_first.bytes_reserved);
  CHECK(g_live_bytes.load() == live_at_10);
  MESSAGE("buffers allocated in step 1: " << after_first.buffer_allocations << ", slots: " << after_first.slots
                                          << ", bytes held: " << after_first.bytes_reserved
                                          << "; steps 2–1000 allocated none");
}

TEST_CASE("a shape change reallocates only the affected buffers, release() frees them") {
  Tape<float> tape;
  auto step = [&](std::size_t rows) {
    Var<float> x = tape.variable(Array<float>(xt::ones<float>(Shape{rows, 4})));
    sum(exp(x)).backward();
    tape.clear();
  };
  step(8);
  const std::size_t n8 = tape.stats().buffer_allocations;
  step(8);
  CHECK(tape.stats().buffer_allocations == n8);
  step(3);  // a smaller last batch: new sizes for the batch-shaped buffers
  CHECK(tape.stats().buffer_allocations > n8);
  tape.release();
  CHECK(tape.stats().slots == 0);
  CHECK(tape.stats().bytes_reserved == 0);
}
