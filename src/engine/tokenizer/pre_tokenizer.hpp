#pragma once

// detail::PreTokenizerConfig: what a byte-level BPE vocabulary's `tokenizer.ggml.pre` name
// implies, following llama.cpp (b4748) so rbee splits text as it does.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace rbee::engine::detail {

struct PreTokenizerConfig {
  // Applied in order by RegexSplitter.
  std::vector<std::string> regexes;
  // Whether decoding removes the space before ?!., and some apostrophe contractions.
  bool clean_spaces = true;
  // Whether a pre-token that is itself a vocabulary entry skips the merges (llama3).
  bool ignore_merges = false;
  // The add-BOS default when `tokenizer.ggml.add_bos_token` is absent.
  bool add_bos = false;
};

// The configuration for pre-tokenizer `name` ("" means "default"). kInvalidArgument for a
// name rbee does not know.
Result<PreTokenizerConfig> pre_tokenizer_config(std::string_view name);

}  // namespace rbee::engine::detail
