// MappedFile: a read-only mmap of a whole file (model weights are read straight from the mapping,
// never copied into host memory first). Errors name the path and the OS reason.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ds {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ds
