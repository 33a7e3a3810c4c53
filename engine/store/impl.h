// Store::Impl: the connection behind a ds::Store plus the thread that opened it. Every Store
// method goes through db(), which refuses calls from any other thread.
#pragma once
#include <thread>

#include "distilscope/store.h"
#include "store/sqlite.h"

namespace ds {

struct Store::Impl {
  store::Db db;
  std::thread::id owner = std::this_thread::get_id();
  int version = 0;

  Impl(const std::string& path, int flags) : db(path, flags) {}
  store::Db& use();  // the connection, after checking the calling thread
};

}  // namespace ds
