// gtest main for every test binary: fails any test during which a Vulkan validation message
// appeared, and resets the scratch arena between tests.
#include <gtest/gtest.h>

#include <string>

#include "distilscope/device.h"
#include "support/gpu.h"

namespace {
class ValidationListener : public testing::EmptyTestEventListener {
  uint64_t before_ = 0;
  void OnTestStart(const testing::TestInfo&) override { before_ = ds::validation_message_count(); }
  void OnTestEnd(const testing::TestInfo& info) override {
    ds::test::reset_arena();
    uint64_t now = ds::validation_message_count();
    // Tests that provoke a message on purpose say so in their name.
    if (std::string(info.name()).find("ExpectsValidationMessage") != std::string::npos) return;
    if (now != before_)
      ADD_FAILURE() << info.name() << ": " << (now - before_)
                    << " Vulkan validation message(s); last: " << ds::last_validation_message();
  }
};
}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testing::UnitTest::GetInstance()->listeners().Append(new ValidationListener);
  return RUN_ALL_TESTS();
}
