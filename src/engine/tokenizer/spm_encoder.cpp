#include "engine/tokenizer/spm_encoder.hpp"

#include <queue>

#include "engine/tokenizer/utf8.hpp"

namespace rbee::engine::detail {
namespace {

// A piece of the text, linked to its neighbours; n == 0 once merged into its left one.
struct Symbol {
  size_t offset = 0;
  size_t n = 0;
  int prev = -1;
  int next = -1;
};

struct Candidate {
  int left = 0;
  int right = 0;
  float score = 0.0f;
  size_t n = 0;  // bytes of the merged text; a stale candidate no longer adds up to it
};

// Highest score first; among equal scores the leftmost pair.
struct LowerPriority {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

class SpmSession {
 public:
  SpmSession(const SpmModel& model, std::string_view text) : model_(model), text_(text) {}

  void run(std::vector<TokenId>& out) {
    for (size_t offset = 0; offset < text_.size();) {
      const size_t n =
          std::min(utf8_claimed_length(static_cast<uint8_t>(text_[offset])), text_.size() - offset);
      const int index = static_cast<int>(symbols_.size());
      symbols_.push_back({offset, n, index - 1, offset + n < text_.size() ? index + 1 : -1});
      offset += n;
    }
    for (size_t i = 1; i < symbols_.size(); ++i) {
      consider(static_cast<int>(i) - 1, static_cast<int>(i));
    }
    while (!queue_.empty()) {
      const Candidate best = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[best.left];
      Symbol& right = symbols_[best.right];
      if (left.n == 0 || right.n == 0 || left.n + right.n != best.n) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = best.left;
      consider(left.prev, best.left);
      consider(best.left, left.next);
    }
    for (int i = symbols_.empty() ? -1 : 0; i != -1; i = symbols_[i].next) {
      emit(symbols_[i], out);
    }
  }

 private:
  void consider(int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t n = symbols_[left].n + symbols_[right].n;
    const TokenId id = find_token(*model_.index, text_.substr(symbols_[left].offset, n));
    if (id == kNoToken) return;
    const float score = model_.scores.empty() ? 0.0f : model_.scores[id];
    queue_.push({left, right, score, n});
  }

  void emit(const Symbol& symbol, std::vector<TokenId>& out) const {
    const TokenId id = find_token(*model_.index, text_.substr(symbol.offset, symbol.n));
    if (id != kNoToken) {
      out.push_back(id);
      return;
    }
    for (size_t i = 0; i < symbol.n; ++i) {
      const TokenId byte_id = model_.byte_tokens[static_cast<uint8_t>(text_[symbol.offset + i])];
      if (byte_id != kNoToken) out.push_back(byte_id);
    }
  }

  const SpmModel& model_;
  std::string_view text_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue_;
};

}  // namespace

void spm_encode(const SpmModel& model, std::string_view text, std::vector<TokenId>& out) {
  SpmSession(model, text).run(out);
}

}  // namespace rbee::engine::detail
