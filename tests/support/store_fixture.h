// Test support for the store tests: a fixture with a fresh Store in a temporary directory, and
// small helpers to build runs and files.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "distilscope/store.h"
#include "support/temp_dir.h"

namespace ds::test {

class StoreTest : public testing::Test {
 protected:
  test::TempDir dir;
  std::string db_path = dir.file("store.db");
  Store store{db_path};

  int64_t make_run(RunKind kind = RunKind::Compare, int64_t conversation = 0) {
    ds::Run r;
    r.kind = kind;
    r.prompt = "Once upon a time";
    r.conversation_id = conversation;
    return store.create_run(r);
  }
};

inline std::string write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace ds::test
