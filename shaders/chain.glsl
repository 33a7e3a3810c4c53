// Chained dispatches (vk::Recorder chain mode, engine/vk/recorder.h): a decode step's kernels follow each other
// without pipeline barriers; instead each workgroup of a kernel waits until every workgroup of the kernel before
// it has finished, and signals when it has finished itself. The next kernel's workgroups are then already
// resident when their input is ready, so a dependent dispatch costs no launch and drain gap.
// Compiled in with -DCHAIN=1 (the "<shader>_chain" variants); include after the shader's own bindings and before
// its main(), which this file renames to chain_body() and wraps. Activation inputs written by the kernel before
// are declared CHAIN_COHERENT (read from L2, not a stale L1). A workgroup that waits more than CHAIN_MAX_SPINS
// polls goes on (the results are then wrong, but the GPU does not hang).
#ifndef CHAIN_GLSL
#define CHAIN_GLSL
#ifdef CHAIN
#extension GL_KHR_memory_scope_semantics : require

// Slot: {done, arrived workgroups, unused, unused}; binding 14 is the kernel before, 15 this kernel. Each
// workgroup makes its writes available (memoryBarrierBuffer) before it counts itself in; the last one to
// arrive sets done with release semantics, and a waiting workgroup reads done with acquire semantics.
layout(set = 0, binding = 14) coherent buffer ChainWait { uint wait_slot[4]; };
layout(set = 0, binding = 15) coherent buffer ChainSignal { uint signal_slot[4]; };
const uint CHAIN_MAX_SPINS = 1u << 24;

void chain_body();
void main() {
  if (gl_LocalInvocationIndex == 0) {
    uint spins = 0;
    // An atomic load: a plain (even volatile) load may be hoisted out of the loop and the loop dropped.
#ifdef CHAIN_BACKOFF
    float d = float(gl_WorkGroupID.x);
    while (atomicLoad(wait_slot[0], gl_ScopeDevice, gl_StorageSemanticsBuffer, gl_SemanticsAcquire) == 0u &&
           spins < CHAIN_MAX_SPINS) {
      ++spins;
      for (int i = 0; i < CHAIN_BACKOFF; ++i) d = d * 1.0001 + 0.5;
    }
    if (d == -1.0) wait_slot[2] = 1u;  // keeps the back-off loop
#else
    while (atomicLoad(wait_slot[0], gl_ScopeDevice, gl_StorageSemanticsBuffer, gl_SemanticsAcquire) == 0u &&
           spins < CHAIN_MAX_SPINS)
      ++spins;
#endif
  }
  memoryBarrierBuffer();
  barrier();
  chain_body();
  memoryBarrierBuffer();
  barrier();
  if (gl_LocalInvocationIndex == 0) {
    const uint total = gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_NumWorkGroups.z;
    if (atomicAdd(signal_slot[1], 1u) == total - 1u) {
      atomicStore(signal_slot[0], 1u, gl_ScopeDevice, gl_StorageSemanticsBuffer, gl_SemanticsRelease);
    }
  }
}
#define main chain_body
#define CHAIN_COHERENT coherent
#define CHAIN_INPUT coherent readonly
#else
#define CHAIN_COHERENT
#define CHAIN_INPUT readonly
#endif
#endif
