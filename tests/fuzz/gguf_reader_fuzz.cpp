// libFuzzer target for the GGUF reader: parses arbitrary bytes, and for any bytes it accepts,
// reads every value and touches every tensor's bytes, then writes the file again with
// GgufWriter and checks that the copy reads back with the same contents.
// Built and run by scripts/fuzz-gguf (clang, -fsanitize=fuzzer,address,undefined).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "engine/gguf/gguf_reader.hpp"
#include "engine/gguf/gguf_writer.hpp"

namespace {

using rbee::engine::GgufReader;
using rbee::engine::GgufTensor;
using rbee::engine::GgufValueType;
using rbee::engine::GgufWriter;

// A broken invariant is a finding: report it and crash so libFuzzer keeps the input.
void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "gguf_reader_fuzz: %s\n", what);
    std::abort();
  }
}

void read_every_value(const GgufReader& gguf) {
  for (const auto& info : gguf.metadata()) {
    require(gguf.get_value(info.key).has_value(), "get_value failed on a validated file");
    (void)gguf.get_uint(info.key);
    (void)gguf.get<std::string_view>(info.key);
    (void)gguf.get<uint32_t>(info.key);
    (void)gguf.get<float>(info.key);
    (void)gguf.get<bool>(info.key);
    if (info.type == GgufValueType::kArray) {
      (void)gguf.get_string_array(info.key);
      (void)gguf.get_array<float>(info.key);
      (void)gguf.get_array<int32_t>(info.key);
      (void)gguf.get_array<bool>(info.key);
      (void)gguf.get_array<double>(info.key);
    }
  }
}

// Sums every tensor byte, so that ASan sees a read outside the input.
unsigned touch_tensors(const GgufReader& gguf) {
  unsigned sum = 0;
  for (const GgufTensor& tensor : gguf.tensors()) {
    for (uint64_t i = 0; i < tensor.n_bytes; ++i) sum += tensor.data[i];
  }
  return sum;
}

// Copies a validated file into a writer: everything the reader accepts, the writer must take.
GgufWriter copy_into_writer(const GgufReader& gguf) {
  GgufWriter writer;
  for (const auto& info : gguf.metadata()) {
    writer.set(std::string(info.key), *gguf.get_value(info.key));
  }
  for (const GgufTensor& tensor : gguf.tensors()) {
    std::vector<uint64_t> dims(tensor.shape().begin(), tensor.shape().end());
    auto data = std::as_bytes(std::span(tensor.data, static_cast<size_t>(tensor.n_bytes)));
    require(writer.add_tensor(std::string(tensor.name), tensor.type, dims, data).has_value(),
            "GgufWriter refused a tensor the reader accepted");
  }
  return writer;
}

// Rewriting is lossless: the rewrite reads back with the same counts and tensor bytes, and
// rewriting the rewrite gives the same bytes (compared as bytes, so NaNs compare too).
void check_rewrite(const GgufReader& gguf) {
  auto bytes = copy_into_writer(gguf).serialize();
  require(bytes.has_value(), "GgufWriter refused metadata the reader accepted");
  auto copy =
      GgufReader::from_bytes({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
  require(copy.has_value(), "the rewritten file does not read back");
  require(copy->metadata().size() == gguf.metadata().size(), "metadata count changed");
  require(copy->tensors().size() == gguf.tensors().size(), "tensor count changed");
  require(touch_tensors(*copy) == touch_tensors(gguf), "tensor bytes changed in the rewrite");
  auto again = copy_into_writer(*copy).serialize();
  require(again.has_value() && *again == *bytes, "rewriting the rewrite changed its bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto gguf = GgufReader::from_bytes(std::span<const uint8_t>(data, size));
  if (!gguf) {
    require(!gguf.error().message.empty(), "an error without a message");
    return 0;
  }
  read_every_value(*gguf);
  (void)touch_tensors(*gguf);
  check_rewrite(*gguf);
  return 0;
}
