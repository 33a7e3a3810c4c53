// Metatype registration for the values crossing the worker/GUI thread boundary.
#include "app/desktop/engine_types.h"

#include "app/desktop/engine_worker.h"

namespace ds::app {

void register_engine_types() {
  qRegisterMetaType<DeviceReport>();
  qRegisterMetaType<VulkanShare>();
  qRegisterMetaType<ModelReport>();
  qRegisterMetaType<GenerationRequest>();
  qRegisterMetaType<TokenChunk>();
  qRegisterMetaType<GenerationSummary>();
  qRegisterMetaType<EngineStats>();
  qRegisterMetaType<ProbeStep>();
  qRegisterMetaType<PairStart>();
  qRegisterMetaType<StudentComparison>();
  qRegisterMetaType<ThroughputSample>();
  qRegisterMetaType<std::vector<int32_t>>();
  qRegisterMetaType<DistillRequest>();
  qRegisterMetaType<DistillStepReport>();
  qRegisterMetaType<DistillStageReport>();
  qRegisterMetaType<DistillSummary>();
}

}  // namespace ds::app
