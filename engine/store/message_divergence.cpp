// Pair-turn divergence of chat replies (schema v5): one row per assistant message holding its
// tokens' KL, probabilities and top alternatives, packed (format below and in docs/store.md) and
// zlib-compressed with the blob codec.
#include <cstring>

#include "store/codec.h"
#include "store/impl.h"
#include "util/error.h"

namespace ds {
namespace {

// Packed format, little endian: u8 version (1), u32 token count, then per token: i32 begin,
// i32 length, i32 token id, f32 kl, reverse_kl, p_teacher, p_student, u8 top1_agree, i32 student
// top-1 id, str label, str student top-1 label, alts teacher_top, alts student_top; where str is
// u16 length + bytes and alts is u8 count + per alternative (i32 id, f32 prob, str label).
constexpr uint8_t kFormat = 1;

struct Packer {
  std::vector<uint8_t> out;
  template <class T>
  void put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
  void str(const std::string& s) {
    const size_t n = std::min<size_t>(s.size(), 0xffff);
    put(uint16_t(n));
    out.insert(out.end(), s.begin(), s.begin() + std::ptrdiff_t(n));
  }
  void alts(const std::vector<TokenAlt>& a) {
    const size_t n = std::min<size_t>(a.size(), 255);
    put(uint8_t(n));
    for (size_t i = 0; i < n; ++i) put(a[i].token_id), put(a[i].prob), str(a[i].piece);
  }
};

struct Unpacker {
  std::span<const uint8_t> in;
  size_t at = 0;
  int64_t message_id;
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, in.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  std::string str() {
    const size_t n = get<uint16_t>();
    need(n);
    std::string s(reinterpret_cast<const char*>(in.data() + at), n);
    at += n;
    return s;
  }
  std::vector<TokenAlt> alts() {
    std::vector<TokenAlt> a(get<uint8_t>());
    for (TokenAlt& t : a) {
      t.token_id = get<int32_t>();
      t.prob = get<float>();
      t.piece = str();
    }
    return a;
  }
  void need(size_t n) const {
    DS_CHECK(at + n <= in.size(), "[store] divergence of message ", message_id, " is cut short (", in.size(),
             " bytes, needed ", at + n, ")");
  }
};

std::vector<uint8_t> pack(const std::vector<MessageTokenDivergence>& tokens) {
  Packer p;
  p.put(kFormat);
  p.put(uint32_t(tokens.size()));
  for (const MessageTokenDivergence& t : tokens) {
    p.put(t.begin), p.put(t.length), p.put(t.token_id);
    p.put(t.kl), p.put(t.reverse_kl), p.put(t.p_teacher), p.put(t.p_student);
    p.put(uint8_t(t.top1_agree)), p.put(t.student_top1.token_id);
    p.str(t.label), p.str(t.student_top1.piece);
    p.alts(t.teacher_top), p.alts(t.student_top);
  }
  return std::move(p.out);
}

std::vector<MessageTokenDivergence> unpack(std::span<const uint8_t> data, int64_t message_id) {
  Unpacker u{data, 0, message_id};
  const uint8_t format = u.get<uint8_t>();
  DS_CHECK(format == kFormat, "[store] divergence of message ", message_id, " has format ", int(format),
           ", this DistilScope reads ", int(kFormat));
  const uint32_t n = u.get<uint32_t>();
  u.need(size_t(n) * 30);  // the fixed part of each token: a bad count fails before allocating
  std::vector<MessageTokenDivergence> tokens(n);
  for (MessageTokenDivergence& t : tokens) {
    t.begin = u.get<int32_t>(), t.length = u.get<int32_t>(), t.token_id = u.get<int32_t>();
    t.kl = u.get<float>(), t.reverse_kl = u.get<float>(), t.p_teacher = u.get<float>(), t.p_student = u.get<float>();
    t.top1_agree = u.get<uint8_t>() != 0;
    t.student_top1.token_id = u.get<int32_t>();
    t.label = u.str();
    t.student_top1.piece = u.str();
    t.teacher_top = u.alts();
    t.student_top = u.alts();
  }
  return tokens;
}

MessageDivergence read_row(const store::Stmt& s) {
  MessageDivergence d;
  d.message_id = s.i64(0);
  d.teacher_path = s.text(1);
  d.student_path = s.text(2);
  const std::vector<uint8_t> data = s.blob(4);
  const std::string what = cat("message ", d.message_id, " divergence");
  d.tokens = unpack(store::decode_blob(s.text(3), data, 1, size_t(s.i64(5)), what), d.message_id);
  return d;
}

constexpr const char* kColumns = "d.message_id, d.teacher_path, d.student_path, d.codec, d.data, d.raw_bytes";

}  // namespace

void Store::put_message_divergence(const MessageDivergence& d) {
  store::Db& db = impl_->use();
  store::Stmt m = db.prepare("SELECT length(CAST(text AS BLOB)) FROM messages WHERE id = ?");
  m.bind(0, d.message_id);
  DS_CHECK(m.step(), "[store] no message ", d.message_id, " to attach divergence to");
  const int64_t text_bytes = m.i64(0);
  int64_t end = 0;
  for (size_t i = 0; i < d.tokens.size(); ++i) {
    const MessageTokenDivergence& t = d.tokens[i];
    DS_CHECK(t.begin >= end && t.length >= 0 && int64_t(t.begin) + t.length <= text_bytes, "[store] message ",
             d.message_id, ": divergence token ", i, " at bytes [", t.begin, ", ", int64_t(t.begin) + t.length,
             ") is not inside the text (", text_bytes, " bytes) after the previous token (ends at ", end, ")");
    end = int64_t(t.begin) + t.length;
  }
  const std::vector<uint8_t> raw = pack(d.tokens);
  const store::Encoded e = store::encode_blob(raw, 1);
  db.prepare(
        "INSERT OR REPLACE INTO message_divergence (message_id, teacher_path, student_path, n_tokens, codec, "
        "raw_bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind_all(d.message_id, d.teacher_path, d.student_path, int64_t(d.tokens.size()), e.codec, int64_t(raw.size()),
                std::span<const uint8_t>(e.data))
      .run();
}

std::optional<MessageDivergence> Store::get_message_divergence(int64_t message_id) {
  store::Stmt s = impl_->use().prepare(std::string("SELECT ") + kColumns +
                                       " FROM message_divergence d WHERE d.message_id = ?");
  s.bind(0, message_id);
  if (!s.step()) return std::nullopt;
  return read_row(s);
}

std::vector<MessageDivergence> Store::list_message_divergence(int64_t conversation_id) {
  store::Stmt s = impl_->use().prepare(std::string("SELECT ") + kColumns +
                                       " FROM message_divergence d JOIN messages m ON m.id = d.message_id"
                                       " WHERE m.conversation_id = ? ORDER BY m.position");
  s.bind(0, conversation_id);
  std::vector<MessageDivergence> out;
  while (s.step()) out.push_back(read_row(s));
  return out;
}

}  // namespace ds
