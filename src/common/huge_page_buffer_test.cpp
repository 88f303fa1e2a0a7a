#include "common/huge_page_buffer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

namespace rbee {
namespace {

TEST(HugePageBufferTest, ZeroedWritableAndOnAHugePageBoundary) {
  HugePageBuffer buffer(3 << 20);
  ASSERT_NE(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size(), size_t{3} << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % (2 << 20), 0u);
  EXPECT_EQ(buffer.data()[0], std::byte{0});
  EXPECT_EQ(buffer.data()[buffer.size() - 1], std::byte{0});
  buffer.data()[buffer.size() - 1] = std::byte{7};

  HugePageBuffer moved = std::move(buffer);
  EXPECT_EQ(buffer.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(moved.data()[moved.size() - 1], std::byte{7});
  moved = HugePageBuffer();
  EXPECT_EQ(moved.data(), nullptr);
  EXPECT_EQ(HugePageBuffer(0).data(), nullptr);
}

}  // namespace
}  // namespace rbee
