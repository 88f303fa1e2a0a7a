#pragma once

// Test-only: reads the `tokenizer.ggml.*` metadata of a GGUF file into a Vocabulary. A
// stand-in for engine/gguf until that reader is ready; it reads the key/value section only
// (GGUF v2/v3) and never looks at tensors.

#include <string>

#include "common/result.hpp"
#include "engine/tokenizer/vocabulary.hpp"

namespace rbee::engine::testing {

struct LoadedVocabulary {
  Vocabulary vocab;
  std::string general_name;  // `general.name`, "" when absent
};

// kNotFound when the file cannot be opened, kInvalidArgument when it is not a GGUF file or
// its metadata is cut short or malformed.
Result<LoadedVocabulary> load_vocabulary_from_gguf(const std::string& path);

}  // namespace rbee::engine::testing
