// The reference engine's tokenizer test vectors (../shared/tokenizer-vectors): reading NAME.gguf.inp / .out,
// and printable forms of inputs and ids for failure messages. Shared by the GGUF and tokenizer.json tests.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace ds::test {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Printable form of a test input for failure messages.
inline std::string show(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c >= 0x20) out += char(c);  // UTF-8 passes through
    else out += cat("\\x", std::hex, int(c));
  }
  return out;
}

inline std::string show(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return "[" + out + "]";
}

struct VectorCase {
  std::string input;
  std::vector<int32_t> expected;
};

// NAME.gguf.inp: inputs separated by "\n__ggml_vocab_test__\n"; NAME.gguf.out: one line of ids each.
inline std::vector<VectorCase> read_vectors(const std::filesystem::path& gguf) {
  const std::string inp = read_file(gguf.string() + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<VectorCase> cases;
  for (size_t pos = 0; pos < inp.size();) {
    size_t next = inp.find(sep, pos);
    if (next == std::string::npos) next = inp.size();
    cases.push_back({inp.substr(pos, next - pos), {}});
    pos = next == inp.size() ? next : next + sep.size();
  }
  std::ifstream out(gguf.string() + ".out");
  size_t i = 0;
  for (std::string line; std::getline(out, line); ++i) {
    if (i >= cases.size()) throw Error(cat(gguf, ": more output lines than inputs"));
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) cases[i].expected.push_back(id);
  }
  if (i != cases.size()) throw Error(cat(gguf, ": ", cases.size(), " inputs but ", i, " output lines"));
  return cases;
}

}  // namespace ds::test
