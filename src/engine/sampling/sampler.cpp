#include "engine/sampling/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "common/check.hpp"

namespace rbee::engine {

int32_t argmax(std::span<const float> values) {
  RBEE_CHECK(!values.empty(), "argmax of nothing");
  size_t best = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] > values[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

Sampler::Sampler(SamplingParams params) : params_(params), rng_(params.seed) {}

void Sampler::apply_penalties(std::vector<Candidate>& candidates,
                              std::span<const int32_t> history) const {
  bool any = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
             params_.frequency_penalty != 0.0f;
  if (!any || params_.penalty_last_n == 0 || history.empty()) return;
  size_t n_last = params_.penalty_last_n < 0
                      ? history.size()
                      : std::min(history.size(), size_t(params_.penalty_last_n));
  std::unordered_map<int32_t, int> counts;
  for (int32_t token : history.subspan(history.size() - n_last)) ++counts[token];
  // candidates are still indexed by id here (no filter has run yet)
  for (const auto& [token, count] : counts) {
    if (token < 0 || size_t(token) >= candidates.size()) continue;
    float& logit = candidates[size_t(token)].logit;
    logit = logit > 0 ? logit / params_.repeat_penalty : logit * params_.repeat_penalty;
    logit -= float(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  RBEE_CHECK(!logits.empty(), "sampling from an empty vocabulary");
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) candidates_[i] = {int32_t(i), logits[i], 0.0f};
  apply_penalties(candidates_, history);

  // Highest logit first; equal logits keep the lower id first (a stable, total order).
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  if (params_.temperature <= 0.0f) {
    return std::min_element(candidates_.begin(), candidates_.end(), by_logit)->id;
  }

  size_t n_keep = candidates_.size();
  if (params_.top_k > 0 && size_t(params_.top_k) < n_keep) {
    n_keep = size_t(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + long(n_keep), candidates_.end(),
                      by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(n_keep);

  // Probabilities before temperature, as llama.cpp's top-p and min-p see them.
  auto softmax = [&](float temperature) {
    float max_logit = candidates_.front().logit;
    double sum = 0;
    for (auto& c : candidates_) {
      c.p = std::exp((c.logit - max_logit) / temperature);
      sum += c.p;
    }
    for (auto& c : candidates_) c.p = float(c.p / sum);
  };
  softmax(1.0f);
  if (params_.top_p < 1.0f) {
    double cumulative = 0;
    size_t keep = candidates_.size();
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cumulative += candidates_[i].p;
      if (cumulative >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
    candidates_.resize(keep);
  }
  if (params_.min_p > 0.0f) {
    float threshold = candidates_.front().p * params_.min_p;
    size_t keep = 1;
    while (keep < candidates_.size() && candidates_[keep].p >= threshold) ++keep;
    candidates_.resize(keep);
  }
  softmax(params_.temperature);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double draw = uniform(rng_);
  double cumulative = 0;
  for (const auto& c : candidates_) {
    cumulative += c.p;
    if (draw < cumulative) return c.id;
  }
  return candidates_.back().id;
}

}  // namespace rbee::engine
