// tapir/autodiff/autodiff.hpp — everything of the autodiff core in one include.
#pragma once

#include "autodiff/array.hpp"
#include "autodiff/grad_check.hpp"
#include "autodiff/ops/activation.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/linalg.hpp"
#include "autodiff/ops/loss.hpp"
#include "autodiff/ops/reduce.hpp"
#include "autodiff/ops/shape.hpp"
#include "autodiff/random.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/version.hpp"
