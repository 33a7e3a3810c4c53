// The push-constant structs of shaders/push_constants.h, seen from C++ (namespace ds::push).
#pragma once
#include <cstdint>

namespace ds::push {
using uint = uint32_t;
#include "push_constants.h"
}  // namespace ds::push
