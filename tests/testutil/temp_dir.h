// A fresh directory under the test temp dir, removed with everything in it on destruction.
#ifndef EMBER_TESTS_TESTUTIL_TEMP_DIR_H_
#define EMBER_TESTS_TESTUTIL_TEMP_DIR_H_

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace ember::testutil {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const char* base = std::getenv("TEST_TMPDIR");
    std::filesystem::path root = base != nullptr ? base : std::filesystem::temp_directory_path();
    path_ =
        (root / ("ember-" + std::to_string(getpid()) + "-" + std::to_string(counter++))).string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace ember::testutil

#endif  // EMBER_TESTS_TESTUTIL_TEMP_DIR_H_
