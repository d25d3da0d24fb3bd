#include "restorer/path_filter.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

PathPattern P(const char* s) {
  auto p = PathPattern::Parse(s);
  EXPECT_TRUE(p.ok()) << s;
  return std::move(*p);
}

TEST(PathPatternTest, AnchoredComponentsMatchWholePaths) {
  auto p = P("/srv/data/*.conf");
  EXPECT_TRUE(p.Matches("/srv/data/a.conf", false));
  EXPECT_TRUE(p.Matches("/srv/data/.hidden.conf", false));  // '*' matches leading dots
  EXPECT_FALSE(p.Matches("/srv/data/sub/a.conf", false));   // '*' does not cross '/'
  EXPECT_FALSE(p.Matches("/x/srv/data/a.conf", false));     // anchored
  EXPECT_FALSE(p.Matches("/srv/data", true));
}

TEST(PathPatternTest, RelativePatternsMatchAtAnyDepth) {
  auto p = P("*.tmp");
  EXPECT_TRUE(p.Matches("/a.tmp", false));
  EXPECT_TRUE(p.Matches("/x/y/z.tmp", false));
  EXPECT_FALSE(p.Matches("/x/y/z.tmpx", false));
  auto q = P("cache/*");
  EXPECT_TRUE(q.Matches("/home/u/cache/f", false));
  EXPECT_FALSE(q.Matches("/home/u/cache", true));
}

TEST(PathPatternTest, DoubleStarAndDirOnly) {
  auto p = P("/srv/**/x");
  EXPECT_TRUE(p.Matches("/srv/x", false));
  EXPECT_TRUE(p.Matches("/srv/a/b/c/x", false));
  EXPECT_FALSE(p.Matches("/srv/a/b/c/y", false));
  auto d = P("/srv/logs/");
  EXPECT_TRUE(d.Matches("/srv/logs", true));
  EXPECT_FALSE(d.Matches("/srv/logs", false));
  auto c = P("/srv/[ab]?");
  EXPECT_TRUE(c.Matches("/srv/a1", false));
  EXPECT_FALSE(c.Matches("/srv/c1", false));
}

TEST(PathPatternTest, MayMatchBelow) {
  auto p = P("/srv/data/*.conf");
  EXPECT_TRUE(p.MayMatchBelow("/"));
  EXPECT_TRUE(p.MayMatchBelow("/srv"));
  EXPECT_TRUE(p.MayMatchBelow("/srv/data"));
  EXPECT_FALSE(p.MayMatchBelow("/srv/data/sub"));
  EXPECT_FALSE(p.MayMatchBelow("/etc"));
  auto q = P("/srv/**");
  EXPECT_TRUE(q.MayMatchBelow("/srv/a/b"));
  EXPECT_FALSE(q.MayMatchBelow("/etc"));
  EXPECT_TRUE(P("x").MayMatchBelow("/any/where"));
}

TEST(PathPatternTest, RejectsEmptyPatterns) {
  EXPECT_FALSE(PathPattern::Parse("").ok());
  EXPECT_FALSE(PathPattern::Parse("/").ok());
  EXPECT_FALSE(PathFilter::Make({"ok"}, {"//"}).ok());
}

TEST(PathFilterTest, IncludesAndExcludes) {
  auto f = PathFilter::Make({"/srv/data/sub"}, {"*.tmp"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Included("/srv/data/sub", true));
  EXPECT_FALSE(f->Included("/srv/data/other", false));
  EXPECT_TRUE(f->MayIncludeBelow("/srv"));
  EXPECT_FALSE(f->MayIncludeBelow("/srv/data/sub"));  // the walk includes its subtree instead
  EXPECT_TRUE(f->Excluded("/srv/data/sub/x.tmp", false));
  PathFilter all;
  EXPECT_TRUE(all.Included("/anything", false));
  EXPECT_TRUE(all.MayIncludeBelow("/anything"));
  EXPECT_FALSE(all.Excluded("/anything", false));
}

TEST(SplitPathTest, DropsEmptyComponents) {
  auto v = SplitPath("//a/b//c/");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "a");
  EXPECT_EQ(v[2], "c");
  EXPECT_TRUE(SplitPath("/").empty());
}

}  // namespace
}  // namespace lifeboat
