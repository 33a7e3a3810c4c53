// Test support: a fresh directory under $TMPDIR (or /tmp), removed with everything in it when the
// TempDir goes out of scope. Store tests put their SQLite files here.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

#include "util/error.h"

namespace ds::test {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/distilscope-test-XXXXXX";
    DS_CHECK(mkdtemp(pattern.data()), "cannot create a temporary directory from ", pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace ds::test
