// Test helpers for file-format tests: a temporary directory removed at the end of the test,
// writing raw bytes, and catching a ds::Error's message.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "util/error.h"

namespace ds::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ds_test_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The message of the ds::Error that f throws, or "<no error>".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ds::Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace ds::test

// Expects `stmt` to throw a ds::Error whose message contains `substr`.
#define EXPECT_ERROR(stmt, substr)                                                     \
  do {                                                                                 \
    std::string ds_msg_ = ::ds::test::error_of([&] { stmt; });                         \
    EXPECT_NE(ds_msg_.find(substr), std::string::npos) << "message: " << ds_msg_;      \
  } while (0)
