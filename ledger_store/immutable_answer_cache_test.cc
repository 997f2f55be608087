#include "ledger_store/immutable_answer_cache.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace microledger {
namespace {

std::shared_ptr<const ImmutableAnswer> AnswerOf(size_t bytes, char fill = 'x') {
  return std::make_shared<const ImmutableAnswer>(
      ImmutableAnswer{std::string(bytes, fill), "\"tag\""});
}

TEST(ImmutableAnswerCacheTest, FindsWhatWasInserted) {
  ImmutableAnswerCache cache(1 << 20);
  EXPECT_EQ(cache.Find("a"), nullptr);
  cache.Insert("a", AnswerOf(100, 'a'));
  std::shared_ptr<const ImmutableAnswer> found = cache.Find("a");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->body, std::string(100, 'a'));
  EXPECT_EQ(found->entity_tag, "\"tag\"");
  cache.Insert("a", AnswerOf(10, 'b'));
  EXPECT_EQ(cache.Find("a")->body, std::string(10, 'b'));
}

TEST(ImmutableAnswerCacheTest, DropsTheLeastRecentlyUsedWithinItsBudget) {
  ImmutableAnswerCache cache(3 * 1000 + 3 * 200);
  cache.Insert("1", AnswerOf(1000));
  cache.Insert("2", AnswerOf(1000));
  cache.Insert("3", AnswerOf(1000));
  ASSERT_NE(cache.Find("1"), nullptr);  // Now the most recently used.
  cache.Insert("4", AnswerOf(1000));
  EXPECT_NE(cache.Find("1"), nullptr);
  EXPECT_EQ(cache.Find("2"), nullptr);
  EXPECT_NE(cache.Find("3"), nullptr);
  EXPECT_NE(cache.Find("4"), nullptr);
  EXPECT_LE(cache.size_bytes(), 3 * 1000u + 3 * 200u);
}

TEST(ImmutableAnswerCacheTest, KeepsNothingLargerThanItsBudgetOrWithNoBudget) {
  ImmutableAnswerCache small(500);
  small.Insert("big", AnswerOf(1000));
  EXPECT_EQ(small.Find("big"), nullptr);
  EXPECT_EQ(small.size_bytes(), 0u);
  ImmutableAnswerCache none(0);
  none.Insert("a", AnswerOf(1));
  EXPECT_EQ(none.Find("a"), nullptr);
}

TEST(ImmutableAnswerCacheTest, AnAnswerHandedOutOutlivesItsEviction) {
  ImmutableAnswerCache cache(1500);
  cache.Insert("1", AnswerOf(1000, 'q'));
  std::shared_ptr<const ImmutableAnswer> held = cache.Find("1");
  cache.Insert("2", AnswerOf(1000));
  EXPECT_EQ(cache.Find("1"), nullptr);
  EXPECT_EQ(held->body, std::string(1000, 'q'));
}

}  // namespace
}  // namespace microledger
