// The store's schema history: the DDL of every version as it was written, and the ordered
// migration steps v0->v1->v2->... applied by open_store (one transaction per step). The schema is
// documented table by table in docs/store.md; keep the two in step.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace ds::store {

class Db;

// PRAGMA application_id of DistilScope files ("DSst").
constexpr int32_t kApplicationId = 0x44537374;

struct Migration {
  int to_version;          // the step takes the file from to_version - 1 to to_version
  std::string_view what;   // one line for error messages and docs
  std::string_view sql;    // statements run inside the step's transaction
};

// All steps in order; the last one's to_version is Store::kSchemaVersion.
const std::vector<Migration>& migrations();

// Applies the steps after the file's user_version, each in a BEGIN IMMEDIATE transaction that
// re-reads user_version (another connection may have migrated meanwhile). Throws naming the step.
void migrate(Db& db, int target_version);

}  // namespace ds::store
