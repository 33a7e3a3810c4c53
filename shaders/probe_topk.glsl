// Per-invocation top-K lists of (key, id), best first: larger key, ties to the lower id; an empty entry
// (id TK_NONE) loses to everything. NL lists per invocation (a teacher/student pair keeps two). Include
// after the local size, with the constants K (list length, <= 16) and NL defined. tk_merge(L) reduces
// list L over the workgroup in K rounds of arg-max into tk_out_key/tk_out_id[L][0..K).
const uint TK_NONE = 0xffffffffu;
const uint TK_MAX_SUBGROUPS = 128;
#define TK_NEG_INF uintBitsToFloat(0xff800000u)

float tk_key[NL][K];
uint tk_id[NL][K];
shared float tk_sub_key[TK_MAX_SUBGROUPS];
shared uint tk_sub_id[TK_MAX_SUBGROUPS];
shared float tk_out_key[NL][K];
shared uint tk_out_id[NL][K];

bool tk_better(float a, uint ia, float b, uint ib) {
  return ib == TK_NONE || (ia != TK_NONE && (a > b || (a == b && ia < ib)));
}

void tk_clear(uint L) {
  for (uint i = 0; i < K; ++i) {
    tk_key[L][i] = TK_NEG_INF;
    tk_id[L][i] = TK_NONE;
  }
}

void tk_push(uint L, float key, uint id) {
  if (!tk_better(key, id, tk_key[L][K - 1], tk_id[L][K - 1])) return;
  for (uint j = K - 1; j > 0; --j) {
    if (tk_better(key, id, tk_key[L][j - 1], tk_id[L][j - 1])) {
      tk_key[L][j] = tk_key[L][j - 1];
      tk_id[L][j] = tk_id[L][j - 1];
    } else {
      tk_key[L][j] = key;
      tk_id[L][j] = id;
      return;
    }
  }
  tk_key[L][0] = key;
  tk_id[L][0] = id;
}

void tk_pop(uint L) {
  for (uint j = 0; j + 1 < K; ++j) {
    tk_key[L][j] = tk_key[L][j + 1];
    tk_id[L][j] = tk_id[L][j + 1];
  }
  tk_key[L][K - 1] = TK_NEG_INF;
  tk_id[L][K - 1] = TK_NONE;
}

// Every invocation of the workgroup must call it; ids must be unique across the workgroup's lists.
void tk_merge(uint L) {
  for (uint r = 0; r < K; ++r) {
    const float km = subgroupMax(tk_key[L][0]);
    const uint im = subgroupMin(tk_key[L][0] == km ? tk_id[L][0] : TK_NONE);
    if (subgroupElect()) {
      tk_sub_key[gl_SubgroupID] = km;
      tk_sub_id[gl_SubgroupID] = im;
    }
    barrier();
    float bk = tk_sub_key[0];
    uint bi = tk_sub_id[0];
    for (uint s = 1; s < gl_NumSubgroups; ++s)
      if (tk_better(tk_sub_key[s], tk_sub_id[s], bk, bi)) {
        bk = tk_sub_key[s];
        bi = tk_sub_id[s];
      }
    barrier();
    if (gl_LocalInvocationID.x == 0) {
      tk_out_key[L][r] = bk;
      tk_out_id[L][r] = bi;
    }
    if (bi != TK_NONE && tk_id[L][0] == bi) tk_pop(L);
  }
  barrier();
}
