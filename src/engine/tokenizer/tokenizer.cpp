#include "engine/tokenizer/tokenizer.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "engine/tokenizer/byte_level.hpp"
#include "engine/tokenizer/pre_tokenizer.hpp"
#include "engine/tokenizer/tokenizer_impl.hpp"
#include "engine/tokenizer/utf8.hpp"

namespace rbee::engine {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Token texts llama.cpp treats as end-of-turn markers even when the GGUF names no EOT id.
constexpr std::array<std::string_view, 8> kEotTexts = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<EOT>",
    "_<EOT>",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
// Token texts that end generation, whatever ids the GGUF names.
constexpr std::array<std::string_view, 8> kEogTexts = {
    "<|eot_id|>",    "<|im_end|>", "<|end|>", "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>",   "_<EOT>"};

// A piece of the text to encode: raw text, or a special token matched in it.
struct Fragment {
  TokenId token = kNoToken;
  size_t offset = 0;
  size_t length = 0;
};

TokenId resolve_id(const Tokenizer::Impl& impl, std::optional<TokenId> given, TokenId fallback) {
  const TokenId id = given.value_or(fallback);
  return impl.valid(id) ? id : kNoToken;
}

void fill_byte_tokens(Tokenizer::Impl& impl) {
  for (int byte = 0; byte < 256; ++byte) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", byte);
    TokenId id = detail::find_token(impl.index, hex);
    if (id == kNoToken)
      id = detail::find_token(impl.index, std::string(1, static_cast<char>(byte)));
    impl.spm.byte_tokens[byte] = id == kNoToken ? impl.unk : id;
  }
}

Status build_merges(Tokenizer::Impl& impl, const std::vector<std::string>& merges) {
  impl.ranks.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& merge = merges[rank];
    // The left part may itself start with a space in some vocabularies: split at the first
    // space after the first byte.
    if (merge.size() < 3 || merge.find(' ', 1) == std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument,
                        "merge " + std::to_string(rank) + " is not \"left right\": " + merge);
    }
    impl.ranks.emplace(merge, static_cast<int32_t>(rank));
  }
  return ok_status();
}

void find_special_tokens(Tokenizer::Impl& impl, std::optional<TokenId> given_eot) {
  // llama.cpp marks end-of-turn texts as control tokens and stops generation at them.
  if (!given_eot) {
    for (const std::string_view text : kEotTexts) {
      const TokenId id = detail::find_token(impl.index, text);
      if (id != kNoToken) {
        impl.eot = id;
        impl.token_types[id] = TokenType::kControl;
        break;
      }
    }
  }
  for (const std::string_view text : kEogTexts) {
    const TokenId id = detail::find_token(impl.index, text);
    if (id == kNoToken) continue;
    impl.end_of_generation.insert(id);
    impl.token_types[id] = TokenType::kControl;
  }
  for (const TokenId id : {impl.eos, impl.eot}) {
    if (id != kNoToken) impl.end_of_generation.insert(id);
  }
  for (TokenId id = 0; id < static_cast<TokenId>(impl.tokens.size()); ++id) {
    const TokenType type = impl.token_types[id];
    if ((type == TokenType::kControl || type == TokenType::kUserDefined ||
         type == TokenType::kUnknown) &&
        !impl.tokens[id].empty()) {
      impl.special_tokens.push_back(id);
    }
  }
  std::stable_sort(
      impl.special_tokens.begin(), impl.special_tokens.end(),
      [&](TokenId a, TokenId b) { return impl.tokens[a].size() > impl.tokens[b].size(); });
}

// Cuts the raw-text fragments at every occurrence of each special token, longest token first.
std::vector<Fragment> partition_special(const Tokenizer::Impl& impl, std::string_view text,
                                        bool parse_special) {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({kNoToken, 0, text.size()});
  std::vector<Fragment> next;
  for (const TokenId id : impl.special_tokens) {
    const TokenType type = impl.token_types[id];
    if (!parse_special && (type == TokenType::kControl || type == TokenType::kUnknown)) continue;
    const std::string& needle = impl.tokens[id];
    bool found_any = false;
    next.clear();
    for (const Fragment& fragment : fragments) {
      if (fragment.token != kNoToken || fragment.length < needle.size()) {
        next.push_back(fragment);
        continue;
      }
      const std::string_view raw = text.substr(fragment.offset, fragment.length);
      size_t cursor = 0;
      while (true) {
        const size_t at = raw.find(needle, cursor);
        if (at == std::string_view::npos) break;
        found_any = true;
        if (at > cursor) next.push_back({kNoToken, fragment.offset + cursor, at - cursor});
        next.push_back({id, 0, 0});
        cursor = at + needle.size();
      }
      if (cursor < raw.size())
        next.push_back({kNoToken, fragment.offset + cursor, raw.size() - cursor});
    }
    if (found_any) fragments.swap(next);
  }
  return fragments;
}

void encode_spm(const Tokenizer::Impl& impl, std::string_view text, bool prefix_space,
                std::vector<TokenId>& out) {
  std::string normalized;
  normalized.reserve(text.size() * 3 + 3);
  if (prefix_space) normalized += kSpaceMarker;
  for (const char c : text) {
    if (c == ' ') {
      normalized += kSpaceMarker;
    } else {
      normalized.push_back(c);
    }
  }
  detail::spm_encode(impl.spm, normalized, out);
}

void encode_bpe(const Tokenizer::Impl& impl, std::string_view text, std::vector<TokenId>& out) {
  // llama.cpp reads each invalid byte as U+FFFD before splitting.
  const std::string clean = detail::utf8_sanitize(text);
  for (const std::string_view word : impl.splitter->split(clean)) {
    detail::bpe_encode_word(impl.bpe, detail::byte_level_encode(word), out);
  }
}

}  // namespace

Result<Tokenizer> Tokenizer::create(Vocabulary vocab) {
  auto impl = std::make_shared<Impl>();
  const size_t n_tokens = vocab.tokens.size();
  if (n_tokens == 0) return make_error(ErrorCode::kInvalidArgument, "vocabulary has no tokens");
  if (!vocab.scores.empty() && vocab.scores.size() != n_tokens) {
    return make_error(ErrorCode::kInvalidArgument,
                      "vocabulary has " + std::to_string(vocab.scores.size()) + " scores for " +
                          std::to_string(n_tokens) + " tokens");
  }
  if (!vocab.token_types.empty() && vocab.token_types.size() != n_tokens) {
    return make_error(ErrorCode::kInvalidArgument,
                      "vocabulary has " + std::to_string(vocab.token_types.size()) +
                          " token types for " + std::to_string(n_tokens) + " tokens");
  }
  impl->tokens = std::move(vocab.tokens);
  impl->scores =
      vocab.scores.empty() ? std::vector<float>(n_tokens, 0.0f) : std::move(vocab.scores);
  impl->token_types = vocab.token_types.empty()
                          ? std::vector<TokenType>(n_tokens, TokenType::kNormal)
                          : std::move(vocab.token_types);
  impl->index.reserve(n_tokens);
  for (size_t id = 0; id < n_tokens; ++id) impl->index[impl->tokens[id]] = static_cast<TokenId>(id);

  if (vocab.model == "llama") {
    impl->kind = TokenizerKind::kSpm;
    impl->bos = resolve_id(*impl, vocab.bos_id, 1);
    impl->eos = resolve_id(*impl, vocab.eos_id, 2);
    impl->unk = resolve_id(*impl, vocab.unk_id, 0);
    impl->add_bos = vocab.add_bos.value_or(true);
    impl->add_eos = vocab.add_eos.value_or(false);
    impl->add_space_prefix = vocab.add_space_prefix.value_or(true);
    impl->clean_spaces = false;
    impl->spm.index = &impl->index;
    impl->spm.scores = impl->scores;
    fill_byte_tokens(*impl);
  } else if (vocab.model == "gpt2") {
    impl->kind = TokenizerKind::kBpe;
    RBEE_ASSIGN_OR_RETURN(detail::PreTokenizerConfig pre, detail::pre_tokenizer_config(vocab.pre));
    RBEE_ASSIGN_OR_RETURN(detail::RegexSplitter splitter,
                          detail::RegexSplitter::create(pre.regexes));
    impl->splitter.emplace(std::move(splitter));
    RBEE_RETURN_IF_ERROR(build_merges(*impl, vocab.merges));
    impl->bos = resolve_id(*impl, vocab.bos_id, 11);
    impl->eos = resolve_id(*impl, vocab.eos_id, 11);
    impl->unk = resolve_id(*impl, vocab.unk_id, kNoToken);
    impl->add_bos = vocab.add_bos.value_or(pre.add_bos);
    impl->add_eos = vocab.add_eos.value_or(false);
    impl->add_space_prefix = vocab.add_space_prefix.value_or(false);
    impl->clean_spaces = pre.clean_spaces;
    impl->bpe.index = &impl->index;
    impl->bpe.ranks = &impl->ranks;
    impl->bpe.ignore_merges = pre.ignore_merges;
  } else if (vocab.model == "bert") {
    impl->kind = TokenizerKind::kWpm;
    // BERT wraps the text as [CLS] text [SEP]; llama.cpp reads [CLS] as the BOS token.
    impl->bos = resolve_id(*impl, vocab.cls_id ? vocab.cls_id : vocab.bos_id, 101);
    impl->eos = resolve_id(*impl, vocab.eos_id, kNoToken);
    impl->unk = resolve_id(*impl, vocab.unk_id, 100);
    impl->sep = resolve_id(*impl, vocab.sep_id, 102);
    impl->add_bos = vocab.add_bos.value_or(true);
    impl->add_eos = vocab.add_eos.value_or(false);
    impl->add_sep = true;
    impl->add_space_prefix = vocab.add_space_prefix.value_or(false);
    impl->clean_spaces = true;
    impl->wpm.index = &impl->index;
    impl->wpm.unk = impl->unk;
    for (const std::string& token : impl->tokens) {
      impl->wpm.max_token_bytes = std::max(impl->wpm.max_token_bytes, token.size());
    }
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "unsupported tokenizer model \"" + vocab.model + "\"");
  }
  impl->eot = resolve_id(*impl, vocab.eot_id, kNoToken);
  if (const TokenId eom = resolve_id(*impl, vocab.eom_id, kNoToken); eom != kNoToken) {
    impl->end_of_generation.insert(eom);
  }
  find_special_tokens(*impl, vocab.eot_id);
  return Tokenizer(std::move(impl));
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  const Impl& impl = *impl_;
  std::vector<TokenId> out;
  if (add_special && impl.add_bos && impl.bos != kNoToken) out.push_back(impl.bos);
  // SentencePiece puts a space before the text, and again after each special token.
  bool after_special = true;
  for (const Fragment& fragment : partition_special(impl, text, parse_special)) {
    if (fragment.token != kNoToken) {
      out.push_back(fragment.token);
      after_special = true;
      continue;
    }
    const std::string_view raw = text.substr(fragment.offset, fragment.length);
    switch (impl.kind) {
      case TokenizerKind::kSpm:
        encode_spm(impl, raw, impl.add_space_prefix && after_special, out);
        break;
      case TokenizerKind::kBpe:
        encode_bpe(impl, raw, out);
        break;
      case TokenizerKind::kWpm:
        detail::wpm_encode(impl.wpm, raw, out);
        break;
    }
    after_special = false;
  }
  if (add_special && impl.add_eos && impl.eos != kNoToken) out.push_back(impl.eos);
  if (add_special && impl.add_sep && impl.sep != kNoToken) out.push_back(impl.sep);
  return out;
}

TokenizerKind Tokenizer::kind() const {
  return impl_->kind;
}
int32_t Tokenizer::n_tokens() const {
  return static_cast<int32_t>(impl_->tokens.size());
}
const std::string& Tokenizer::token_text(TokenId id) const {
  static const std::string kEmpty;
  return impl_->valid(id) ? impl_->tokens[id] : kEmpty;
}
TokenType Tokenizer::token_type(TokenId id) const {
  return impl_->valid(id) ? impl_->token_types[id] : TokenType::kUndefined;
}
TokenId Tokenizer::bos_id() const {
  return impl_->bos;
}
TokenId Tokenizer::eos_id() const {
  return impl_->eos;
}
TokenId Tokenizer::eot_id() const {
  return impl_->eot;
}
TokenId Tokenizer::unk_id() const {
  return impl_->unk;
}
bool Tokenizer::add_bos() const {
  return impl_->add_bos;
}
bool Tokenizer::add_eos() const {
  return impl_->add_eos;
}
bool Tokenizer::is_end_of_generation(TokenId id) const {
  return impl_->end_of_generation.contains(id);
}

}  // namespace rbee::engine
