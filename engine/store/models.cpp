// Models table: model files identified by (path, SHA-256 of the contents), and the streaming
// file hash (OpenSSL EVP, which uses the CPU's SHA extensions when it has them).
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "store/impl.h"
#include "util/error.h"

namespace ds {

std::string sha256_file(const std::string& path, const std::function<void(uint64_t, uint64_t)>& progress) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  DS_CHECK(fd >= 0, "[store] cannot open ", path, " to hash it: ", std::strerror(errno));
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
  struct stat st {};
  DS_CHECK(::fstat(fd, &st) == 0, "[store] cannot stat ", path, ": ", std::strerror(errno));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  DS_CHECK(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1, "[store] OpenSSL SHA-256 unavailable");
  std::vector<uint8_t> buf(size_t(4) << 20);
  uint64_t done = 0, total = uint64_t(st.st_size);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    DS_CHECK(n >= 0, "[store] reading ", path, " at byte ", done, ": ", std::strerror(errno));
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), size_t(n));
    done += uint64_t(n);
    if (progress) progress(done, total);
  }
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

namespace {

constexpr const char* kModelColumns =
    "id, path, sha256, size_bytes, architecture, layer_layout, added_at, file_mtime_ns";

ModelRecord read_model(const store::Stmt& s) {
  ModelRecord m;
  m.id = s.i64(0);
  m.path = s.text(1);
  m.sha256 = s.text(2);
  m.size_bytes = s.i64(3);
  m.architecture = s.text(4);
  m.layer_layout = s.text(5);
  m.added_at = s.i64(6);
  if (!s.is_null(7)) m.file_mtime_ns = s.i64(7);
  return m;
}

}  // namespace

int64_t Store::add_model(const ModelRecord& m) {
  store::Db& db = impl_->use();
  DS_CHECK(m.sha256.size() == 64, "[store] model ", m.path, ": sha256 must be 64 hex digits, got \"", m.sha256, "\"");
  store::Transaction tx(db);
  db.prepare(
        "INSERT INTO models (path, sha256, size_bytes, architecture, layer_layout, added_at, file_mtime_ns) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path, sha256) DO UPDATE SET "
        "architecture = iif(excluded.architecture = '', architecture, excluded.architecture), "
        "layer_layout = iif(excluded.layer_layout = '', layer_layout, excluded.layer_layout), "
        "file_mtime_ns = coalesce(excluded.file_mtime_ns, file_mtime_ns)")
      .bind_all(m.path, m.sha256, m.size_bytes, m.architecture, m.layer_layout, m.added_at ? m.added_at : now_ms(),
                m.file_mtime_ns)
      .run();
  store::Stmt id = db.prepare("SELECT id FROM models WHERE path = ? AND sha256 = ?");
  id.bind_all(m.path, m.sha256);
  DS_CHECK(id.step(), "[store] model ", m.path, " vanished after insert");
  int64_t result = id.i64(0);
  tx.commit();
  return result;
}

std::optional<ModelRecord> Store::find_model(const std::string& path, const std::string& sha256) {
  store::Stmt s = impl_->use().prepare(
      std::string("SELECT ") + kModelColumns + " FROM models WHERE path = ? AND sha256 = ?");
  s.bind_all(path, sha256);
  if (!s.step()) return std::nullopt;
  return read_model(s);
}

std::optional<ModelRecord> Store::get_model(int64_t id) {
  store::Stmt s = impl_->use().prepare(std::string("SELECT ") + kModelColumns + " FROM models WHERE id = ?");
  s.bind(0, id);
  if (!s.step()) return std::nullopt;
  return read_model(s);
}

std::vector<ModelRecord> Store::list_models() {
  store::Stmt s = impl_->use().prepare(std::string("SELECT ") + kModelColumns + " FROM models ORDER BY id");
  std::vector<ModelRecord> out;
  while (s.step()) out.push_back(read_model(s));
  return out;
}

ModelRecord Store::register_model_file(const std::string& path, const std::string& architecture,
                                       const std::string& layer_layout,
                                       const std::function<void(uint64_t, uint64_t)>& progress) {
  struct stat st {};
  DS_CHECK(::stat(path.c_str(), &st) == 0, "[store] cannot stat model file ", path, ": ", std::strerror(errno));
  int64_t mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  std::optional<ModelRecord> known;
  {
    store::Stmt s = impl_->use().prepare(std::string("SELECT ") + kModelColumns +
                                         " FROM models WHERE path = ? AND size_bytes = ? AND file_mtime_ns = ?"
                                         " ORDER BY id DESC LIMIT 1");
    s.bind_all(path, int64_t(st.st_size), mtime_ns);
    if (s.step()) known = read_model(s);
  }
  if (known) {  // unchanged file: no hashing; only fill in what the caller knows now
    if ((!architecture.empty() && architecture != known->architecture) ||
        (!layer_layout.empty() && layer_layout != known->layer_layout)) {
      ModelRecord update = *known;
      if (!architecture.empty()) update.architecture = architecture;
      if (!layer_layout.empty()) update.layer_layout = layer_layout;
      add_model(update);
      return *get_model(known->id);
    }
    return *known;
  }
  ModelRecord m;
  m.path = path;
  m.sha256 = sha256_file(path, progress);
  m.size_bytes = int64_t(st.st_size);
  m.architecture = architecture;
  m.layer_layout = layer_layout;
  m.file_mtime_ns = mtime_ns;
  m.id = add_model(m);
  return *get_model(m.id);
}

}  // namespace ds
