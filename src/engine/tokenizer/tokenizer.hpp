#pragma once

// rbee::engine::Tokenizer: text <-> token ids for a Vocabulary, computing what llama.cpp
// (b4748) computes: SentencePiece-style BPE by score for "llama" vocabularies, byte-level BPE
// by merge rank with a regex pre-tokenizer for "gpt2" ones, WordPiece (longest match first,
// after BERT's lowercasing and splitting) for "bert" ones.
//
//   RBEE_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::create(std::move(vocab)));
//   std::vector<TokenId> ids = tokenizer.encode("Hello world", /*add_special=*/true,
//                                               /*parse_special=*/false);
//   std::string text = tokenizer.decode(ids, /*remove_special=*/true,
//                                       /*unparse_special=*/false);
//
// A Tokenizer is immutable after create(); every const member may be called from any thread.
// Copies share the same tables.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "engine/tokenizer/vocabulary.hpp"

namespace rbee::engine {

// The algorithm a vocabulary uses.
enum class TokenizerKind {
  kSpm,  // "llama": SentencePiece-style BPE by score, byte fallback
  kBpe,  // "gpt2": byte-level BPE by merge rank
  kWpm,  // "bert": WordPiece, longest vocabulary match first
};

class Tokenizer {
 public:
  // Builds the lookup tables. kInvalidArgument when the model kind or pre-tokenizer is not
  // supported, when scores/token_types do not have one entry per token, or when a merge is
  // not "left right". A special token id out of range is ignored (as llama.cpp does).
  static Result<Tokenizer> create(Vocabulary vocab);

  // The ids of `text` (raw bytes; invalid UTF-8 is read as U+FFFD in "gpt2" vocabularies and
  // dropped in "bert" ones). add_special: add BOS/EOS as the vocabulary says (add_bos/add_eos);
  // "bert" vocabularies put [CLS] (their BOS) before the text and [SEP] after it. parse_special:
  // match the text of control tokens (e.g. "<|im_start|>") in `text`; user-defined tokens are
  // always matched, as in llama.cpp.
  std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes token `id` stands for: spaces for U+2581 and <0xXX> as one byte ("llama"), the
  // byte-level alphabet mapped back to bytes ("gpt2"), spaces for U+2581 ("bert": a
  // word-initial piece gives " hello", a continuation piece its bare text). Control and unknown
  // tokens give their text only when `special` is true, else "". A piece may end inside a UTF-8
  // sequence that the next token completes. An out-of-range id gives "".
  std::string token_to_piece(TokenId id, bool special) const;

  // The text of `ids`, as llama.cpp's llama_detokenize: the space prefix added by encode() is
  // dropped from the first piece, and "gpt2" vocabularies with clean-up (e.g. pre "gpt-2") and
  // "bert" ones remove the space before ?!., and before 's 'm 're 've ("bert" text keeps the
  // space before its first word). remove_special: drop a leading BOS and a trailing EOS (or
  // [SEP]) the vocabulary adds. unparse_special: render control tokens.
  std::string decode(std::span<const TokenId> ids, bool remove_special, bool unparse_special) const;

  TokenizerKind kind() const;
  int32_t n_tokens() const;
  // The stored text of token `id` (its vocabulary entry, e.g. "▁Hello" or "Ġworld").
  const std::string& token_text(TokenId id) const;
  TokenType token_type(TokenId id) const;
  TokenId bos_id() const;  // kNoToken when the vocabulary has none
  TokenId eos_id() const;
  TokenId eot_id() const;
  TokenId unk_id() const;
  bool add_bos() const;
  bool add_eos() const;
  // Whether generation should stop at `id` (EOS, EOT or EOM).
  bool is_end_of_generation(TokenId id) const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace rbee::engine
