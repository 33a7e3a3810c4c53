// Blob compression (byte-plane shuffle + zlib) and the packed token-alternatives format; both
// lossless and checked on decode so a damaged row gives an error instead of wrong numbers.
#include "store/codec.h"

#include <zlib.h>

#include <cstring>

#include "util/error.h"

namespace ds::store {
namespace {

// zlib level 3: about as small as the default level on shuffled floats, several times faster.
constexpr int kZlibLevel = 3;

void shuffle(std::span<const uint8_t> raw, size_t es, std::vector<uint8_t>& planes) {
  size_t n = raw.size() / es;
  planes.resize(raw.size());
  for (size_t b = 0; b < es; ++b)
    for (size_t i = 0; i < n; ++i) planes[b * n + i] = raw[i * es + b];
}

void unshuffle(std::span<const uint8_t> planes, size_t es, std::vector<uint8_t>& raw) {
  size_t n = planes.size() / es;
  raw.resize(planes.size());
  for (size_t b = 0; b < es; ++b)
    for (size_t i = 0; i < n; ++i) raw[i * es + b] = planes[b * n + i];
}

struct Deflater {
  z_stream z{};
  Deflater() { DS_CHECK(deflateInit(&z, kZlibLevel) == Z_OK, "[store] zlib deflateInit failed"); }
  ~Deflater() { deflateEnd(&z); }
};

struct Inflater {
  z_stream z{};
  Inflater() { DS_CHECK(inflateInit(&z) == Z_OK, "[store] zlib inflateInit failed"); }
  ~Inflater() { inflateEnd(&z); }
};

template <class T>
void put(std::vector<uint8_t>& out, T v) {
  size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
}

template <class T>
T get(std::span<const uint8_t> data, size_t& at) {
  DS_CHECK(at + sizeof(T) <= data.size(), "[store] token alternatives blob truncated at byte ", at);
  T v;
  std::memcpy(&v, data.data() + at, sizeof(T));
  at += sizeof(T);
  return v;
}

}  // namespace

Encoded encode_blob(std::span<const uint8_t> raw, size_t es) {
  DS_CHECK(raw.size() < (size_t(1) << 32), "[store] blob of ", raw.size(), " bytes; at most 4 GiB");
  bool shuffled = es > 1 && raw.size() % es == 0;
  thread_local std::vector<uint8_t> planes;
  if (shuffled) shuffle(raw, es, planes);
  std::span<const uint8_t> input = shuffled ? std::span<const uint8_t>(planes) : raw;

  // One deflate state per thread, reset per blob: allocating a fresh one (about 270 KiB) for every
  // blob made page faults and TLB flushes the writer's main cost.
  thread_local Deflater deflater;
  z_stream& z = deflater.z;
  DS_CHECK(deflateReset(&z) == Z_OK, "[store] zlib deflateReset failed");
  Encoded e;
  e.data.resize(deflateBound(&z, uLong(input.size())));
  z.next_in = const_cast<Bytef*>(input.data());
  z.avail_in = uInt(input.size());
  z.next_out = e.data.data();
  z.avail_out = uInt(e.data.size());
  int rc = deflate(&z, Z_FINISH);
  DS_CHECK(rc == Z_STREAM_END, "[store] zlib deflate failed (", rc, ") on ", raw.size(), " bytes");
  size_t size = z.total_out;
  if (size >= raw.size()) {
    e.codec = "raw";
    e.data.assign(raw.begin(), raw.end());
    return e;
  }
  e.data.resize(size);
  e.codec = shuffled ? "shuffle+zlib" : "zlib";
  return e;
}

std::vector<uint8_t> decode_blob(const std::string& codec, std::span<const uint8_t> data, size_t es,
                                 size_t raw_bytes, const std::string& what) {
  if (codec == "raw") {
    DS_CHECK(data.size() == raw_bytes, "[store] blob ", what, ": ", data.size(), " bytes stored, ", raw_bytes,
             " expected");
    return {data.begin(), data.end()};
  }
  DS_CHECK(codec == "zlib" || codec == "shuffle+zlib", "[store] blob ", what, ": unknown codec \"", codec, "\"");
  thread_local Inflater inflater;
  z_stream& z = inflater.z;
  DS_CHECK(inflateReset(&z) == Z_OK, "[store] zlib inflateReset failed");
  std::vector<uint8_t> out(raw_bytes);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = uInt(data.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  int rc = inflate(&z, Z_FINISH);
  DS_CHECK(rc == Z_STREAM_END && z.total_out == raw_bytes, "[store] blob ", what, ": zlib data damaged (code ", rc,
           ", ", z.total_out, " of ", raw_bytes, " bytes)");
  if (codec == "zlib") return out;
  std::vector<uint8_t> elements;
  unshuffle(out, es, elements);
  return elements;
}

std::vector<uint8_t> encode_alternatives(std::span<const TokenAlt> alts) {
  std::vector<uint8_t> out;
  if (alts.empty()) return out;
  DS_CHECK(alts.size() <= 255, "[store] at most 255 token alternatives, got ", alts.size());
  put<uint8_t>(out, 1);
  put<uint8_t>(out, uint8_t(alts.size()));
  for (const TokenAlt& a : alts) {
    DS_CHECK(a.piece.size() <= 65535, "[store] token alternative piece of ", a.piece.size(), " bytes");
    put<int32_t>(out, a.token_id);
    put<float>(out, a.prob);
    put<uint16_t>(out, uint16_t(a.piece.size()));
    out.insert(out.end(), a.piece.begin(), a.piece.end());
  }
  return out;
}

std::vector<TokenAlt> decode_alternatives(std::span<const uint8_t> data) {
  std::vector<TokenAlt> alts;
  if (data.empty()) return alts;
  size_t at = 0;
  auto version = get<uint8_t>(data, at);
  DS_CHECK(version == 1, "[store] token alternatives blob of unknown version ", int(version));
  auto n = get<uint8_t>(data, at);
  alts.resize(n);
  for (TokenAlt& a : alts) {
    a.token_id = get<int32_t>(data, at);
    a.prob = get<float>(data, at);
    auto len = get<uint16_t>(data, at);
    DS_CHECK(at + len <= data.size(), "[store] token alternatives blob truncated at byte ", at);
    a.piece.assign(reinterpret_cast<const char*>(data.data() + at), len);
    at += len;
  }
  return alts;
}

}  // namespace ds::store
