// StreamDecoder: token ids in, complete UTF-8 out (see distilscope/tokenizer.h).
#include "distilscope/tokenizer.h"
#include "text/unicode.h"

namespace ds {

std::string StreamDecoder::feed(int32_t id) {
  pending_ += tokenizer_->token_bytes(id);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    if (size_t n = text::utf8_valid_len(pending_, i); n > 0) {
      out.append(pending_, i, n);
      i += n;
    } else if (text::utf8_incomplete_tail(pending_, i)) {
      break;  // wait for the rest of this character
    } else {
      out += text::k_replacement;  // a byte that cannot start or continue a character here
      ++i;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::flush() {
  if (pending_.empty()) return {};
  pending_.clear();
  return std::string(text::k_replacement);
}

}  // namespace ds
