#include "engine/gguf/mapped_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "common/test_dir.hpp"

namespace rbee::engine::detail {
namespace {

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// The mapping starts on a 2 MiB boundary (so that the kernel can map the file's huge folios
// whole), holds the file's bytes, and stays where it is when the object moves.
TEST(MappedFileTest, MapsTheBytesAtAHugePageBoundary) {
  testing::TestDir dir;
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + i / 4096);
  write_file(dir.path() / "weights", content);
  auto mapped = MappedFile::open(dir.path() / "weights");
  ASSERT_TRUE(mapped) << mapped.error().message;
  const auto bytes = mapped->bytes();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(bytes.data()) % (2 << 20), 0u);
  ASSERT_EQ(bytes.size(), content.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), content);
  MappedFile moved = std::move(*mapped);
  EXPECT_EQ(moved.bytes().data(), bytes.data());
  EXPECT_EQ(moved.bytes().back(), static_cast<uint8_t>(content.back()));
}

// This process's resident pages, from /proc/self/statm.
size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * size_t(sysconf(_SC_PAGESIZE));
}

// Released pages stop counting in resident memory and read back the same bytes on the next
// access (from the page cache).
TEST(MappedFileTest, ReleasedPagesLeaveResidentMemoryAndComeBack) {
  testing::TestDir dir;
  std::string content(64 << 20, '\0');
  for (size_t i = 0; i < content.size(); i += 4096) content[i] = static_cast<char>(i / 4096);
  write_file(dir.path() / "weights", content);
  auto mapped = MappedFile::open(dir.path() / "weights");
  ASSERT_TRUE(mapped);
  const auto bytes = mapped->bytes();
  size_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 4096) sum += bytes[i];
  const size_t touched = resident_bytes();
  release_mapped_pages(bytes.data(), bytes.size());
  const size_t released = resident_bytes();
  EXPECT_GE(touched - released, size_t(48) << 20) << touched << " -> " << released;
  size_t again = 0;
  for (size_t i = 0; i < bytes.size(); i += 4096) again += bytes[i];
  EXPECT_EQ(again, sum);
}

TEST(MappedFileTest, EmptyMissingAndNonRegularFiles) {
  testing::TestDir dir;
  write_file(dir.path() / "empty", "");
  auto empty = MappedFile::open(dir.path() / "empty");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->bytes().empty());
  auto missing = MappedFile::open(dir.path() / "missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto folder = MappedFile::open(dir.path());
  ASSERT_FALSE(folder);
  EXPECT_EQ(folder.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace rbee::engine::detail
