// Shape ops: reshape, transpose, concat, stack, slice_rows, index_select.
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include "check.hpp"

using namespace tapir;
using test::check_close;
using test::check_gradients;
using test::check_throws_with;

using A = Array<double>;

TEST_CASE("reshape, with an inferred dimension") {
  const A x0 = test::rand({2, 6}, 51);
  Tape<double> tape;
  Var<double> y = reshape(tape.variable(x0), {3, -1});
  CHECK(y.shape() == Shape{3, 4});
  check_close(y.value(), A(xt::reshape_view(x0, {3, 4})), 0);
  check_gradients([](Tape<double>&, const auto& in) { return reshape(in[0], {4, 3}) * 2.0; }, {x0}, "reshape");
  check_gradients([](Tape<double>&, const auto& in) { return reshape(in[0], {12}) * reshape(in[0], {-1}); }, {x0},
                  "reshape reused");
  check_throws_with([&] { reshape(tape.variable(x0), {5, 3}); }, {"reshape", "(2, 6)", "(5, 3)"});
}

TEST_CASE("transpose, 2-D and with a permutation") {
  const A x0 = test::rand({2, 3, 4}, 52);
  Tape<double> tape;
  Var<double> x = tape.variable(x0);
  check_close(transpose(x, {2, 0, 1}).value(), A(xt::transpose(x0, {2, 0, 1})), 0);
  check_close(transpose(x).value(), A(xt::transpose(x0)), 0);
  check_gradients([](Tape<double>&, const auto& in) { return transpose(in[0], {1, 2, 0}); }, {x0}, "transpose");
  const A m0 = test::rand({3, 5}, 53);
  check_gradients([](Tape<double>&, const auto& in) { return transpose(in[0]); }, {m0}, "transpose 2-D");
  check_throws_with([&] { transpose(x, {0, 0, 1}); }, {"transpose", "permutation", "(2, 3, 4)"});
}

TEST_CASE("concat along each axis, and stack") {
  const A a0 = test::rand({2, 3}, 54), b0 = test::rand({2, 1}, 55), c0 = test::rand({4, 3}, 56);
  Tape<double> tape;
  Var<double> a = tape.variable(a0), b = tape.variable(b0), c = tape.variable(c0);
  check_close(concat<double>({a, b}, 1).value(), A(xt::concatenate(xt::xtuple(a0, b0), 1)), 0);
  check_close(concat<double>({a, c}, 0).value(), A(xt::concatenate(xt::xtuple(a0, c0), 0)), 0);
  check_gradients(
      [](Tape<double>&, const auto& in) {
        return concat<double>({in[0], in[1], in[0]}, -1);
      },
      {a0, b0}, "concat axis 1");
  check_gradients(
      [](Tape<double>&, const auto& in) {
        return concat<double>({in[0], in[1]}, 0);
      },
      {a0, c0}, "concat axis 0");
  Var<double> st = stack<double>({a, a * 2.0}, 1);
  CHECK(st.shape() == Shape{2, 2, 3});
  check_close(A(xt::view(st.value(), xt::all(), 0, xt::all())), a0, 0);
  check_close(A(xt::view(st.value(), xt::all(), 1, xt::all())), A(2.0 * a0), 0);
  check_gradients(
      [](Tape<double>&, const auto& in) {
        return stack<double>({in[0], in[1]}, 0);
      },
      {a0, A(a0 + 1.0)}, "stack");
  check_throws_with([&] { concat<double>({a, c}, 1); }, {"concat", "(4, 3)", "(2, 3)"});
  check_throws_with([&] { stack<double>({a, b}); }, {"stack", "(2, 1)", "(2, 3)"});
}

TEST_CASE("slice_rows and index_select (with repeated rows)") {
  const A x0 = test::rand({5, 3}, 57);
  Tape<double> tape;
  Var<double> x = tape.variable(x0);
  check_close(slice_rows(x, 1, 4).value(), A(xt::view(x0, xt::range(1, 4), xt::all())), 0);
  check_gradients([](Tape<double>&, const auto& in) { return slice_rows(in[0], 2, 5); }, {x0}, "slice_rows");
  const std::vector<std::size_t> idx = {4, 0, 4, 2};
  Var<double> y = index_select(x, idx);
  for (std::size_t i = 0; i < idx.size(); ++i)
    check_close(A(xt::view(y.value(), i, xt::all())), A(xt::view(x0, idx[i], xt::all())), 0);
  check_gradients([&](Tape<double>&, const auto& in) { return index_select(in[0], idx); }, {x0}, "index_select");
  check_throws_with([&] { slice_rows(x, 3, 7); }, {"slice_rows", "[3, 7)", "(5, 3)"});
  check_throws_with([&] { index_select(x, {1, 9}); }, {"index_select", "9", "(5, 3)"});
}
