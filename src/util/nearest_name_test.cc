#include "util/nearest_name.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(NearestNameTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("password_file", "pasword_file"), 1u);
  EXPECT_EQ(EditDistance("ab", "ba"), 2u);  // no transposition
}

TEST(NearestNameTest, NearestWithinTheLimit) {
  const std::vector<std::string_view> keys = {"password_file", "repository", "role"};
  EXPECT_EQ(NearestName("pasword_file", keys, 3), "password_file");
  EXPECT_EQ(NearestName("rol", keys, 3), "role");
  EXPECT_EQ(NearestName("xyzzy", keys, 3), "");            // nothing close
  EXPECT_EQ(NearestName("repositry", keys, 0), "");        // limit 0: only equals, skipped
  EXPECT_EQ(NearestName("role", {"role"}, 3), "");          // the name itself is no suggestion
  EXPECT_EQ(NearestName("abc", {"abd", "abe"}, 1), "abd");  // the first of equals
}

}  // namespace
}  // namespace lifeboat
