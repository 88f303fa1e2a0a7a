#include "engine/sampling/stop_matcher.hpp"

#include <gtest/gtest.h>

namespace rbee::engine {
namespace {

TEST(StopMatcherTest, PassesTextWithoutStops) {
  StopMatcher matcher({});
  EXPECT_EQ(matcher.feed("hello"), "hello");
  EXPECT_EQ(matcher.flush(), "");
  EXPECT_FALSE(matcher.stopped());
}

TEST(StopMatcherTest, StopsInsideOnePiece) {
  StopMatcher matcher({"\n\n"});
  EXPECT_EQ(matcher.feed("one\n\ntwo"), "one");
  EXPECT_TRUE(matcher.stopped());
  EXPECT_EQ(matcher.matched(), "\n\n");
  EXPECT_EQ(matcher.feed("more"), "");
}

TEST(StopMatcherTest, StopAcrossPiecesIsHeldBackAndNeverShown) {
  StopMatcher matcher({"User:"});
  EXPECT_EQ(matcher.feed("Sure. Us"), "Sure. ");
  EXPECT_EQ(matcher.feed("e"), "");
  EXPECT_EQ(matcher.feed("r:"), "");
  EXPECT_TRUE(matcher.stopped());
}

TEST(StopMatcherTest, FalseAlarmIsReleased) {
  StopMatcher matcher({"User:"});
  EXPECT_EQ(matcher.feed("Use"), "");
  EXPECT_EQ(matcher.feed("ful"), "Useful");
  EXPECT_FALSE(matcher.stopped());
  EXPECT_EQ(matcher.feed(" U"), " ");
  EXPECT_EQ(matcher.flush(), "U");
}

TEST(StopMatcherTest, EarliestOfSeveralStopsWins) {
  StopMatcher matcher({"cat", "at"});
  EXPECT_EQ(matcher.feed("a cat"), "a ");
  EXPECT_EQ(matcher.matched(), "cat");
}

}  // namespace
}  // namespace rbee::engine
