// Whether this CPU runs the AVX-512 VNNI kernels (see avx512_vnni.hpp).

#include "engine/kernels/simd/avx2.hpp"
#include "engine/kernels/simd/avx512_vnni.hpp"

namespace rbee::engine::kernels::simd {

bool avx512_vnni_available() {
#if defined(__x86_64__)
  // __builtin_cpu_supports also checks that the OS saves the AVX-512 state (ZMM and mask
  // registers), which a kernel touching zmm registers needs.
  __builtin_cpu_init();
  return avx2_available() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

}  // namespace rbee::engine::kernels::simd
