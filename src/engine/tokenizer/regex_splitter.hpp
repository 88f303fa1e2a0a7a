#pragma once

// detail::RegexSplitter: the pre-tokenizer of byte-level BPE vocabularies. It applies a list
// of regular expressions in turn; each one cuts every piece left by the previous ones into
// its matches and the text between them (HF tokenizers' Split with "isolated" behaviour), so
// no byte is dropped. Matching uses PCRE2 with UTF and Unicode properties (\p{L}, \p{N}, \s).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace rbee::engine::detail {

class RegexSplitter {
 public:
  // Compiles `patterns` (PCRE2 syntax). kInvalidArgument names the pattern that does not
  // compile.
  static Result<RegexSplitter> create(const std::vector<std::string>& patterns);

  // Splits valid UTF-8 `text` into non-empty pieces whose concatenation is `text`.
  // Thread-safe: each call uses its own match data.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Impl;
  explicit RegexSplitter(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace rbee::engine::detail
