// tapir/autodiff/ops/shape.hpp — reshaping, transposing, joining and selecting.
#pragma once

#include <vector>

#include "autodiff/tape.hpp"

namespace tapir {

/// Same elements, new shape; one dimension may be −1 (inferred). Backward reshapes the gradient back.
template <class T>
Var<T> reshape(const Var<T>& x, const std::vector<long>& shape);
/// Reverses the axes (the matrix transpose for 2-D). Backward transposes the gradient back.
template <class T>
Var<T> transpose(const Var<T>& x);
/// Permutes the axes: y.shape[i] = x.shape[perm[i]]. Backward applies the inverse permutation.
template <class T>
Var<T> transpose(const Var<T>& x, const std::vector<std::size_t>& perm);
/// Joins along an existing axis; all other dimensions must agree. Backward splits the gradient.
template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, int axis = 0);
/// Joins along a new axis; all shapes must be equal.
template <class T>
Var<T> stack(const std::vector<Var<T>>& xs, int axis = 0);
/// Rows [begin, end) along axis 0. Backward writes the gradient into those rows.
template <class T>
Var<T> slice_rows(const Var<T>& x, std::size_t begin, std::size_t end);
/// Rows x[indices[i]] along axis 0 (repeats allowed). Backward scatter-adds into the picked rows.
template <class T>
Var<T> index_select(const Var<T>& x, const std::vector<std::size_t>& indices);

/// x[..., begin:end:step, ...] along `axis`, with Python's rules: negative begin/end count from the end,
/// both are clamped to [0, n], an empty range gives a zero-length axis; step > 0. Backward writes the
/// gradient into the picked positions (0 elsewhere).
template <class T>
Var<T> slice(const Var<T>& x, int axis, long begin, long end, long step = 1);
/// Positions indices[i] along `axis` (torch.index_select; repeats allowed). Backward scatter-adds.
template <class T>
Var<T> index_select(const Var<T>& x, int axis, const std::vector<std::size_t>& indices);

}  // namespace tapir
