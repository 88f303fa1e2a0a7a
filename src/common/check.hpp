#pragma once

// RBEE_CHECK(cond, "why"): an always-on assertion for programmer errors. Bad input never
// reaches one; it returns an Error instead.

#include <cstdio>
#include <cstdlib>

#define RBEE_CHECK(cond, why)                                                                 \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, why); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)
