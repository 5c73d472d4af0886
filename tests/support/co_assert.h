// CO_ASSERT: ASSERT_* for coroutines. gtest's ASSERT_* macros `return`, which a coroutine
// cannot; this records the failure and co_returns instead.
#pragma once

#include <gtest/gtest.h>

#define CO_ASSERT(cond, ...)                         \
  do {                                               \
    if (!(cond)) {                                   \
      ADD_FAILURE() << #cond << ": " << __VA_ARGS__; \
      co_return;                                     \
    }                                                \
  } while (0)
