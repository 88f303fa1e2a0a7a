#pragma once

// The tokenizer's vocabulary from a model's `tokenizer.ggml.*` metadata.

#include "common/result.hpp"
#include "engine/gguf/gguf_reader.hpp"
#include "engine/tokenizer/vocabulary.hpp"

namespace rbee::engine {

// kInvalidArgument naming the key when a required key is missing (model, tokens) or a key
// has the wrong type or length (scores and token types must match the token count).
Result<Vocabulary> read_vocabulary(const GgufReader& gguf);

}  // namespace rbee::engine
