// Test support for CLI tests: runs distilscope-cli (DS_CLI_PATH, defined for tests/test_cli*.cpp) as a real
// subprocess with shell-quoted arguments, capturing exit code, stdout and stderr; and the check that an error
// is one clean line on stderr naming what it should.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

namespace ds::test {

struct Result {
  int exit_code = -1;
  std::string out, err;
};

// Runs the CLI with arguments (shell-quoted by the caller), capturing stdout and stderr.
inline Result run_cli(const std::string& args) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "distilscope-cli-test";
  fs::create_directories(dir);
  // ctest runs the cases of this file as parallel processes: names unique per process and call.
  static int calls = 0;
  std::string tag = std::to_string(::getpid()) + "-" + std::to_string(calls++);
  std::string out = (dir / ("out-" + tag)).string(), err = (dir / ("err-" + tag)).string();
  std::string cmd = std::string(DS_CLI_PATH) + " " + args + " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  Result r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

inline void expect_clean_error(const Result& r, std::initializer_list<std::string> fragments) {
  EXPECT_EQ(r.exit_code, 1) << "stderr: " << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "expected one line: " << r.err;
  for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "missing '" << f << "' in: " << r.err;
}

}  // namespace ds::test
