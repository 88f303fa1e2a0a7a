// Whether this CPU runs the AVX2 kernels (see avx2.hpp).

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace rbee::engine::kernels::simd {

bool avx2_available() {
#if defined(__x86_64__)
  // __builtin_cpu_supports also checks that the OS saves the AVX registers; compilers differ
  // in whether it knows "f16c", so that bit comes from CPUID leaf 1 (ECX bit 29) directly.
  __builtin_cpu_init();
  unsigned eax = 0;
  unsigned ebx = 0;
  unsigned ecx = 0;
  unsigned edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
#else
  return false;
#endif
}

}  // namespace rbee::engine::kernels::simd
