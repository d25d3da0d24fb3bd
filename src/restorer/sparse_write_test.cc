#include "restorer/sparse_write.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "util/file_io.h"

namespace lifeboat {
namespace {

TEST(SparseWriteTest, IsAllZero) {
  Bytes b(10000, 0);
  EXPECT_TRUE(IsAllZero(b.data(), b.size()));
  EXPECT_TRUE(IsAllZero(b.data(), 0));
  for (size_t at : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{9999}}) {
    b[at] = 1;
    EXPECT_FALSE(IsAllZero(b.data(), b.size())) << at;
    b[at] = 0;
  }
}

class SparseFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-sparse-test-XXXXXX";
    fd_ = FileDescriptor(::mkstemp(tmpl));
    ASSERT_TRUE(fd_.valid());
    path_ = tmpl;
  }
  void TearDown() override { ::unlink(path_.c_str()); }
  uint64_t Allocated() {
    struct stat st;
    EXPECT_EQ(::fstat(fd_.get(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }
  Bytes Content(size_t n) {
    Bytes out(n);
    EXPECT_TRUE(PReadExact(fd_.get(), out.data(), n, 0, "test file").ok());
    return out;
  }
  FileDescriptor fd_;
  std::string path_;
};

// Islands of data in zeros, written as pieces that do not line up with blocks: only the blocks
// that hold data are allocated, and a zero block split between two pieces stays a hole.
TEST_F(SparseFileTest, OnlyBlocksWithDataAreAllocated) {
  constexpr size_t kBlock = 4096, kSize = 64 * kBlock;
  Bytes want(kSize, 0);
  want[3 * kBlock + 17] = 1;                                             // block 3
  want[10 * kBlock] = 2;                                                 // block 10, first byte
  want[20 * kBlock + kBlock - 1] = 3;                                    // block 20, last byte
  std::fill(want.begin() + 30 * kBlock, want.begin() + 33 * kBlock, 4);  // blocks 30..32
  // Pieces of odd lengths, as content-defined chunks are.
  size_t cuts[] = {0, 1000, 3 * kBlock + 17, 10 * kBlock + 5, 25 * kBlock + 123, kSize};
  for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
    ByteView piece(want.data() + cuts[i], cuts[i + 1] - cuts[i]);
    ASSERT_TRUE(WriteSkippingZeroBlocks(fd_.get(), piece, cuts[i], kBlock, "piece").ok());
  }
  ASSERT_EQ(::ftruncate(fd_.get(), kSize), 0);
  EXPECT_EQ(Content(kSize), want);
  // 6 blocks hold data; some file systems allocate a little more (metadata, preallocation).
  EXPECT_LE(Allocated(), 8 * kBlock);
  EXPECT_GE(Allocated(), 6 * kBlock);
}

TEST_F(SparseFileTest, DenseDataIsWrittenWhole) {
  std::mt19937 rng(5);
  Bytes data(100000);
  for (auto& x : data) x = static_cast<uint8_t>(rng() | 1);
  ASSERT_TRUE(WriteSkippingZeroBlocks(fd_.get(), data, 12345, 4096, "dense").ok());
  Bytes got(data.size());
  ASSERT_TRUE(PReadExact(fd_.get(), got.data(), got.size(), 12345, "dense").ok());
  EXPECT_EQ(got, data);
}

TEST(SparseWriteTest, HoleBlockSizeIsAPowerOfTwo) {
  FileDescriptor dir(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  size_t bs = HoleBlockSize(dir.get());
  EXPECT_GE(bs, 512u);
  EXPECT_EQ(bs & (bs - 1), 0u);
  EXPECT_EQ(HoleBlockSize(-1), 4096u);
}

}  // namespace
}  // namespace lifeboat
