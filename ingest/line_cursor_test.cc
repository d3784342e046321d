// LineCursor: where lines begin and end, their numbers, and the positions errors name.
#include "ingest/line_cursor.h"

#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::ingest {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Lines(std::string_view body) {
  LineCursor lines(body);
  std::vector<std::string> out;
  while (lines.Next()) out.emplace_back(lines.line());
  return out;
}

TEST(LineCursorTest, SplitsAtNewlinesAndDropsTheirCarriageReturns) {
  EXPECT_THAT(Lines(""), ElementsAre());
  EXPECT_THAT(Lines("\n"), ElementsAre(""));
  EXPECT_THAT(Lines("a"), ElementsAre("a"));
  EXPECT_THAT(Lines("a\n"), ElementsAre("a"));
  EXPECT_THAT(Lines("a\r\n\nb\rc\r"), ElementsAre("a", "", "b\rc"));
}

TEST(LineCursorTest, ErrorsNameTheLineAndColumn) {
  LineCursor lines("ok\r\nbad line\n");
  ASSERT_TRUE(lines.Next());
  EXPECT_EQ(lines.line_no(), 1u);
  ASSERT_TRUE(lines.Next());
  EXPECT_EQ(lines.line_no(), 2u);
  EXPECT_EQ(lines.Error(lines.line().data() + 4, "oops").message(), "line 2, column 5: oops");
  EXPECT_TRUE(lines.CheckLength(8).ok());
  EXPECT_EQ(lines.CheckLength(7).message(),
            "line 2, column 8: line is 8 bytes long, over the limit of 7 (max_line_bytes)");
  EXPECT_EQ(lines.CheckLength(7).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(lines.Next());
  EXPECT_EQ(lines.line(), "bad line");
}

TEST(LineCursorTest, ErrorAtEndIsPastTheLastLineOrOnTheNextOne) {
  struct Case {
    std::string body;
    std::string want;
  };
  const Case cases[] = {{"", "line 1, column 1: end"},
                        {"ab", "line 1, column 3: end"},
                        {"ab\r", "line 1, column 3: end"},
                        {"ab\n", "line 2, column 1: end"},
                        {"ab\ncd\r\n", "line 3, column 1: end"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    LineCursor lines(c.body);
    while (lines.Next()) {
    }
    EXPECT_EQ(lines.ErrorAtEnd("end").message(), c.want);
  }
}

}  // namespace
}  // namespace ember::ingest
