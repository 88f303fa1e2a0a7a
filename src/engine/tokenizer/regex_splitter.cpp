#include "engine/tokenizer/regex_splitter.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/tokenizer/utf8.hpp"

namespace rbee::engine::detail {
namespace {

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
using CodePtr = std::unique_ptr<pcre2_code, CodeDeleter>;
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

const PCRE2_UCHAR* as_pcre(std::string_view text) {
  return reinterpret_cast<const PCRE2_UCHAR*>(text.data());
}

}  // namespace

struct RegexSplitter::Impl {
  std::vector<CodePtr> codes;
};

Result<RegexSplitter> RegexSplitter::create(const std::vector<std::string>& patterns) {
  auto impl = std::make_shared<Impl>();
  for (const std::string& pattern : patterns) {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    // DOLLAR_ENDONLY: `$` is the end of the piece, as in the Rust/Oniguruma engines the
    // patterns were written for, not also "before a final newline".
    pcre2_code* code = pcre2_compile(as_pcre(pattern), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error_code,
                                     &error_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof(message));
      return make_error(ErrorCode::kInvalidArgument,
                        "pre-tokenizer regex does not compile at offset " +
                            std::to_string(error_offset) + ": " +
                            reinterpret_cast<const char*>(message) + ": " + pattern);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional: falls back to the interpreter
    impl->codes.emplace_back(code);
  }
  return RegexSplitter(std::move(impl));
}

std::vector<std::string_view> RegexSplitter::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  std::vector<std::string_view> next;
  for (const CodePtr& code : impl_->codes) {
    MatchDataPtr match(pcre2_match_data_create_from_pattern(code.get(), nullptr));
    next.clear();
    for (const std::string_view piece : pieces) {
      size_t start = 0;  // where the next search begins
      size_t kept = 0;   // end of what has been pushed already
      while (start < piece.size()) {
        int rc = pcre2_match(code.get(), as_pcre(piece), piece.size(), start, PCRE2_NO_UTF_CHECK,
                             match.get(), nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
          // Very long runs (e.g. 100k spaces) overflow the JIT stack; the interpreter keeps
          // its backtracking on the heap.
          rc = pcre2_match(code.get(), as_pcre(piece), piece.size(), start,
                           PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match.get(), nullptr);
        }
        if (rc < 0) break;  // no further match (or an engine limit): the rest is one piece
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
        const size_t match_begin = ovector[0];
        const size_t match_end = ovector[1];
        if (match_begin > kept) next.push_back(piece.substr(kept, match_begin - kept));
        if (match_end > match_begin) {
          next.push_back(piece.substr(match_begin, match_end - match_begin));
          kept = match_end;
          start = match_end;
        } else {
          // An empty match cuts nothing; step over one character to make progress.
          kept = match_begin;
          start = match_begin + utf8_claimed_length(static_cast<uint8_t>(piece[match_begin]));
        }
      }
      if (kept < piece.size()) next.push_back(piece.substr(kept));
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace rbee::engine::detail
