// AVX2 attention loops (see attention.hpp): the scores of the queries that share a key head
// against every key of it, four keys at a time so that their FMA chains overlap and each key
// is loaded once for two queries, and a vectorized exp.

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)

#include <cmath>

#include "engine/kernels/simd/avx2_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

RBEE_AVX2 inline __m256 load8(bool f16, const void* base, int64_t element) {
  if (f16) return _mm256_cvtph_ps(load128(static_cast<const uint16_t*>(base) + element));
  return _mm256_loadu_ps(static_cast<const float*>(base) + element);
}

// e^x for 8 lanes: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 polynomial, 2^n
// through the exponent bits. About 2 ulp for x in [-87, 88]; 0 below -87.3 (the softmax only
// shifts by the maximum, so x <= 0 there).
RBEE_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 kLog2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 kLn2Hi = _mm256_set1_ps(0.693359375f);
  const __m256 kLn2Lo = _mm256_set1_ps(-2.12194440e-4f);
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, kLog2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, kLn2Hi, x);
  r = _mm256_fnmadd_ps(n, kLn2Lo, r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i exponent =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
  return _mm256_andnot_ps(underflow, result);
}

// The scores of keys t .. t + 3 for queries i .. i + kQueries - 1: each key's vector is read
// once for the kQueries queries (the heads that share a key head), each (query, key) pair its
// own FMA chain over the head, and the four sums of a query added pairwise as hadd does
// (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)) for each key), so a query's scores do not
// depend on which queries share the call.
template <int kQueries>
RBEE_AVX2 inline void score_four_keys(bool f16, const void* keys, int64_t key_stride,
                                      const void* queries, int64_t query_stride, int64_t i,
                                      int64_t head_dim, int64_t t, float scale, float* scores,
                                      int64_t scores_stride) {
  __m256 acc[kQueries][4];
  for (auto& query : acc) {
    for (__m256& a : query) a = _mm256_setzero_ps();
  }
  for (int64_t d = 0; d < head_dim; d += 8) {
    __m256 key[4];
    for (int k = 0; k < 4; ++k) key[k] = load8(f16, keys, (t + k) * key_stride + d);
    for (int j = 0; j < kQueries; ++j) {
      const __m256 q = load8(f16, queries, (i + j) * query_stride + d);
      for (int k = 0; k < 4; ++k) acc[j][k] = _mm256_fmadd_ps(key[k], q, acc[j][k]);
    }
  }
  for (int j = 0; j < kQueries; ++j) {
    // Four horizontal sums at once.
    const __m256 s01 = _mm256_hadd_ps(acc[j][0], acc[j][1]);
    const __m256 s23 = _mm256_hadd_ps(acc[j][2], acc[j][3]);
    const __m256 s = _mm256_hadd_ps(s01, s23);
    const __m128 sums = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    _mm_storeu_ps(scores + (i + j) * scores_stride + t, _mm_mul_ps(sums, _mm_set1_ps(scale)));
  }
}

}  // namespace

RBEE_AVX2 void attention_scores_avx2(bool f16, const void* keys, int64_t key_stride,
                                     const void* queries, int64_t query_stride, int64_t n_queries,
                                     int64_t head_dim, int64_t n_kv, float scale, float* scores,
                                     int64_t scores_stride) {
  int64_t t = 0;
  for (; t + 4 <= n_kv; t += 4) {
    int64_t i = 0;
    for (; i + 2 <= n_queries; i += 2) {
      score_four_keys<2>(f16, keys, key_stride, queries, query_stride, i, head_dim, t, scale,
                         scores, scores_stride);
    }
    if (i < n_queries) {
      score_four_keys<1>(f16, keys, key_stride, queries, query_stride, i, head_dim, t, scale,
                         scores, scores_stride);
    }
  }
  for (; t < n_kv; ++t) {
    for (int64_t i = 0; i < n_queries; ++i) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t d = 0; d < head_dim; d += 8) {
        acc = _mm256_fmadd_ps(load8(f16, keys, t * key_stride + d),
                              load8(f16, queries, i * query_stride + d), acc);
      }
      scores[i * scores_stride + t] = hsum(acc) * scale;
    }
  }
}

RBEE_AVX2 double exp_shifted_avx2(float* x, int64_t n, float shift) {
  const __m256 shift8 = _mm256_set1_ps(shift);
  __m256d total = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), shift8));
    _mm256_storeu_ps(x + i, e);
    total = _mm256_add_pd(total, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    total = _mm256_add_pd(total, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, total);
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
