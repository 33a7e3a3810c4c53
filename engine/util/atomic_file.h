// AtomicFile: writes a file so that readers never see a half-written one: data goes to
// "<path>.tmp", then commit() fsyncs, renames over <path> and fsyncs the directory.
// Destroyed without commit() (an error on the way), the temporary file is removed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ds {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  uint64_t written() const { return written_; }
  void commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t written_ = 0;
};

// One-shot: the whole content at once.
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace ds
