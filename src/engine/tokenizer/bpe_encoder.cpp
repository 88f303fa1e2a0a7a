#include "engine/tokenizer/bpe_encoder.hpp"

#include <queue>
#include <string>

#include "engine/tokenizer/utf8.hpp"

namespace rbee::engine::detail {
namespace {

struct Symbol {
  size_t offset = 0;
  size_t n = 0;  // 0 once merged into its left neighbour
  int prev = -1;
  int next = -1;
};

struct Candidate {
  int left = 0;
  int right = 0;
  int32_t rank = 0;
  size_t left_n = 0;  // sizes when queued; a stale candidate no longer matches them
  size_t right_n = 0;
};

// Lowest rank first; among equal ranks the leftmost pair.
struct LowerPriority {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

class BpeSession {
 public:
  BpeSession(const BpeModel& model, std::string_view word) : model_(model), word_(word) {}

  void run(std::vector<TokenId>& out) {
    if (model_.ignore_merges) {
      const TokenId id = find_token(*model_.index, word_);
      if (id != kNoToken) {
        out.push_back(id);
        return;
      }
    }
    for (size_t offset = 0; offset < word_.size();) {
      const size_t n =
          std::min(utf8_claimed_length(static_cast<uint8_t>(word_[offset])), word_.size() - offset);
      const int index = static_cast<int>(symbols_.size());
      symbols_.push_back({offset, n, index - 1, offset + n < word_.size() ? index + 1 : -1});
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
      // Symbols only grow to the right and stay contiguous, so equal sizes mean equal text.
      if (left.n != best.left_n || right.n != best.right_n || left.next != best.right) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = best.left;
      consider(left.prev, best.left);
      consider(best.left, left.next);
    }
    for (int i = symbols_.empty() ? -1 : 0; i != -1; i = symbols_[i].next) {
      emit(word_.substr(symbols_[i].offset, symbols_[i].n), out);
    }
  }

 private:
  void consider(int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& a = symbols_[left];
    const Symbol& b = symbols_[right];
    std::string key;
    key.reserve(a.n + 1 + b.n);
    key.append(word_.substr(a.offset, a.n));
    key.push_back(' ');
    key.append(word_.substr(b.offset, b.n));
    const auto it = model_.ranks->find(key);
    if (it == model_.ranks->end()) return;
    queue_.push({left, right, it->second, a.n, b.n});
  }

  void emit(std::string_view piece, std::vector<TokenId>& out) const {
    const TokenId id = find_token(*model_.index, piece);
    if (id != kNoToken) {
      out.push_back(id);
      return;
    }
    // No entry for the merged text (a merge list that disagrees with the token list): fall
    // back to one-byte entries, as llama.cpp does.
    for (size_t i = 0; i < piece.size(); ++i) {
      const TokenId byte_id = find_token(*model_.index, piece.substr(i, 1));
      if (byte_id != kNoToken) out.push_back(byte_id);
    }
  }

  const BpeModel& model_;
  std::string_view word_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue_;
};

}  // namespace

void bpe_encode_word(const BpeModel& model, std::string_view word, std::vector<TokenId>& out) {
  BpeSession(model, word).run(out);
}

}  // namespace rbee::engine::detail
