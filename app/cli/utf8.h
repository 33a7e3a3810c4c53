// UTF-8 helpers for CLI output: token pieces may end inside a character (byte-fallback tokens), so text
// going into JSON or onto a picture is decoded leniently, malformed bytes becoming U+FFFD.
#pragma once
#include <string>
#include <vector>

namespace ds::cli {

std::vector<int> code_points(const std::string& s);  // malformed bytes -> 0xFFFD each
std::string valid_utf8(const std::string& s);        // the same text re-encoded, always valid UTF-8

}  // namespace ds::cli
