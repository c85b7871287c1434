// tapir/nn/dist/dist.hpp — every distribution family and kl_divergence in one include (tapir::dist).
#pragma once

#include "nn/dist/bernoulli.hpp"
#include "nn/dist/categorical.hpp"
#include "nn/dist/continuous_bernoulli.hpp"
#include "nn/dist/distribution.hpp"
#include "nn/dist/independent.hpp"
#include "nn/dist/kl.hpp"
#include "nn/dist/laplace.hpp"
#include "nn/dist/low_rank_multivariate_normal.hpp"
#include "nn/dist/mixture_same_family.hpp"
#include "nn/dist/normal.hpp"
#include "nn/dist/relaxed.hpp"
#include "nn/dist/standard_normal.hpp"
#include "nn/dist/uniform.hpp"
