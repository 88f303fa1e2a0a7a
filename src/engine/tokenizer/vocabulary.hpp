#pragma once

// rbee::engine::Vocabulary: the tokenizer description stored in a GGUF file under the
// `tokenizer.ggml.*` keys, as plain data. It does not depend on the GGUF reader: whoever
// reads a model fills one in and hands it to Tokenizer::create() (tokenizer.hpp).
//
//   Vocabulary vocab;
//   vocab.model = "gpt2";
//   vocab.pre = "qwen2";
//   vocab.tokens = {...};
//   vocab.merges = {"Ġ t", ...};
//   auto tokenizer = Tokenizer::create(std::move(vocab));

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rbee::engine {

// A token id, an index into Vocabulary::tokens.
using TokenId = int32_t;
// "No such token" (a missing BOS, an absent unknown token).
inline constexpr TokenId kNoToken = -1;

// `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocabulary {
  // `tokenizer.ggml.model`: "llama" (SentencePiece-style BPE by score), "gpt2" (byte-level
  // BPE by merge rank) or "bert" (WordPiece). Other kinds ("t5", ...) are rejected by
  // Tokenizer::create().
  std::string model;
  // `tokenizer.ggml.pre`: the pre-tokenizer of a "gpt2" vocabulary ("gpt-2", "qwen2",
  // "llama-bpe", ...); empty when the key is absent (treated as "default").
  std::string pre;
  // `tokenizer.ggml.tokens`, `.scores`, `.token_type`, one entry per id. scores and
  // token_types may be empty (all 0.0 / all kNormal).
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<TokenType> token_types;
  // `tokenizer.ggml.merges`: "left right" pairs, highest priority first ("gpt2" only).
  std::vector<std::string> merges;
  // `tokenizer.ggml.{bos,eos,eot,eom,unknown,padding,seperator,cls,mask}_token_id`;
  // absent keys keep the model's defaults (llama: bos 1, eos 2, unk 0; gpt2: bos/eos 11;
  // bert: cls (used as bos) 101, unk 100, sep 102).
  std::optional<TokenId> bos_id;
  std::optional<TokenId> eos_id;
  std::optional<TokenId> eot_id;
  std::optional<TokenId> eom_id;
  std::optional<TokenId> unk_id;
  std::optional<TokenId> pad_id;
  std::optional<TokenId> sep_id;
  std::optional<TokenId> cls_id;
  std::optional<TokenId> mask_id;
  // `tokenizer.ggml.add_bos_token`, `.add_eos_token`, `.add_space_prefix`; absent keys keep
  // the model's defaults (llama: BOS yes, EOS no, space prefix yes; gpt2: per pre-tokenizer;
  // bert: BOS ([CLS]) yes, EOS no, space prefix no).
  std::optional<bool> add_bos;
  std::optional<bool> add_eos;
  std::optional<bool> add_space_prefix;
};

}  // namespace rbee::engine
