// Workgroup-wide reductions: subgroup arithmetic, then one value per subgroup through shared memory.
// Include after the local size declaration; every invocation of the workgroup must call them.
shared float reduce_scratch[64];

float workgroup_sum(float v) {
  v = subgroupAdd(v);
  uint n_sub = (gl_WorkGroupSize.x + gl_SubgroupSize - 1) / gl_SubgroupSize;
  if (n_sub == 1) return v;
  barrier();
  if (subgroupElect()) reduce_scratch[gl_SubgroupID] = v;
  barrier();
  float t = 0.0;
  for (uint i = 0; i < n_sub; ++i) t += reduce_scratch[i];
  barrier();
  return t;
}

float workgroup_max(float v) {
  v = subgroupMax(v);
  uint n_sub = (gl_WorkGroupSize.x + gl_SubgroupSize - 1) / gl_SubgroupSize;
  if (n_sub == 1) return v;
  barrier();
  if (subgroupElect()) reduce_scratch[gl_SubgroupID] = v;
  barrier();
  float t = reduce_scratch[0];
  for (uint i = 1; i < n_sub; ++i) t = max(t, reduce_scratch[i]);
  barrier();
  return t;
}
