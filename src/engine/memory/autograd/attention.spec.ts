// Attention's memory: the fused SDPA kernel keeps a log-sum-exp per head and token, the eager
// code keeps whole score matrices. Shapes are tokens x (heads x head dim) in bf16; every size
// is elements x bytes per element and a multiple of 512 B (the allocator's block).
import { deltasOf, liveBytes } from '../../../../test/support/event-log';
import { AttentionHeads, eagerAttention, efficientAttention, flashAttention } from './attention';
import { Nn } from './nn';
import { FP32, Ops } from './ops';
import { Runtime, Tensor } from './runtime';

const BF16 = 2;
// 128 tokens and a head dim of 32: flash_api.cpp rounds its accumulators' rows up to 128 and
// their head dim up to 32, so here they are exactly tokens x head dim.
const TOKENS = 128;
const HEAD_DIM = 32;
const GQA: AttentionHeads = { heads: 4, kvHeads: 2, headDim: HEAD_DIM };
const MHA: AttentionHeads = { heads: 4, kvHeads: 4, headDim: HEAD_DIM };

function setUp() {
  const rt = new Runtime();
  const nn = new Nn(new Ops(rt), { matmul: BF16, autocast: false, quantization: 'bitsandbytes' });
  return { rt, nn };
}

/** q, k and v as the projections leave them, each needing a gradient. */
function qkv(rt: Runtime, heads: AttentionHeads): [Tensor, Tensor, Tensor] {
  const q = rt.tensor(TOKENS, heads.heads * HEAD_DIM, BF16, true);
  const k = rt.tensor(TOKENS, heads.kvHeads * HEAD_DIM, BF16, true);
  const v = rt.tensor(TOKENS, heads.kvHeads * HEAD_DIM, BF16, true);
  return [q, k, v];
}

describe('efficientAttention: _scaled_dot_product_efficient_attention with a mask', () => {
  // 8 sequences of 16 queries (Idefics2's latents) over 64 keys each, every head its own K/V
  const queries = 16;
  const keys = 64;
  const OUT = TOKENS * 4 * HEAD_DIM * BF16; // 32,768 B
  const LSE = 8 * 32 * 4 * FP32; // each sequence's 16 queries padded to 32, x heads, fp32
  const attend = (maskBytes: number) => {
    const { rt, nn } = setUp();
    const q = rt.tensor(TOKENS, 4 * HEAD_DIM, BF16, true);
    const k = rt.tensor(8 * keys, 4 * HEAD_DIM, BF16, true);
    const v = rt.tensor(8 * keys, 4 * HEAD_DIM, BF16, true);
    const mask = rt.tensor(TOKENS, keys, maskBytes, false);
    const start = rt.log.length;
    efficientAttention(nn, q, k, v, MHA, mask, queries);
    return deltasOf(rt.log, start);
  };

  it("keeps a float mask in q's dtype as the bias itself; the log-sum-exp pads each sequence's queries, not its keys, to 32", () => {
    expect(attend(BF16)).toEqual([OUT, LSE]);
  });

  it("casts a float mask of another dtype to q's (autocast's SDPA casts an fp32 mask): a 16-bit copy the kernel keeps", () => {
    expect(attend(FP32)).toEqual([TOKENS * keys * BF16, OUT, LSE]);
  });
});

describe('flashAttention: _scaled_dot_product_flash_attention', () => {
  const Q = TOKENS * 4 * HEAD_DIM * BF16; // 32,768 B
  const KV = TOKENS * 2 * HEAD_DIM * BF16; // 16,384 B under GQA
  const LSE = 4 * TOKENS * FP32; // softmax_lse: (batch, heads, tokens) fp32, 2,048 B

  it('makes the output and the log-sum-exp, and keeps q, k, v, output and lse', () => {
    const { rt, nn } = setUp();
    const [q, k, v] = qkv(rt, GQA);
    const start = rt.log.length;
    const out = flashAttention(nn, q, k, v, GQA);
    expect(deltasOf(rt.log, start)).toEqual([Q, LSE]);
    rt.drop(q, k, v, out);
    // derivatives.yaml: the backward reads query, key, value, output and logsumexp.
    expect(liveBytes(rt.log, undefined, 'activations')).toBe(Q + KV + KV + Q + LSE);
  });

  // flash_api.cpp mha_bwd: dq, dk, dv like q, k, v; softmax_d (4 B per head and token) and the
  // fp32 dq accumulator (4 B per head dimension per head and token); under grouped queries
  // dk_expanded and dv_expanded for every query head (2 x 2 B per head dimension), summed
  // into dk and dv; all freed when the kernel returns.
  function backwardDeltas(heads: AttentionHeads): number[] {
    const { rt, nn } = setUp();
    const [q, k, v] = qkv(rt, heads);
    const out = flashAttention(nn, q, k, v, heads);
    rt.drop(q, k, v);
    const seed = rt.allocate(out.bytes, 'activations');
    const start = rt.log.length;
    rt.backward(out, seed);
    return deltasOf(rt.log, start).slice(0, 5);
  }

  // The workspace block is 256 B larger than its parts in every allocator trace, and the
  // allocator rounds it up to its 512 B block (CUDACachingAllocator.cpp round_size).
  const workspaceBlock = (parts: number) => Math.ceil((parts + 256) / 512) * 512;

  it('backward under grouped queries: dq, dk, dv and a workspace of 8 x head dim + 4 B', () => {
    const workspace = workspaceBlock(TOKENS * 4 * (FP32 * HEAD_DIM + FP32 + 2 * BF16 * HEAD_DIM));
    expect(backwardDeltas(GQA)).toEqual([Q, KV, KV, workspace, -workspace]);
  });

  it('backward with as many K/V heads as query heads: no expanded dk and dv', () => {
    const kv = TOKENS * 4 * HEAD_DIM * BF16;
    const workspace = workspaceBlock(TOKENS * 4 * (FP32 * HEAD_DIM + FP32));
    expect(backwardDeltas(MHA)).toEqual([Q, kv, kv, workspace, -workspace]);
  });

  it("the workspace of trace-10's attention (512 tokens, 32 heads of 64, 8 K/V heads) is the trace's block", () => {
    const { rt, nn } = setUp();
    const heads: AttentionHeads = { heads: 32, kvHeads: 8, headDim: 64 };
    const q = rt.tensor(512, 32 * 64, BF16, true);
    const [k, v] = [0, 1].map(() => rt.tensor(512, 8 * 64, BF16, true));
    const out = flashAttention(nn, q, k, v, heads);
    rt.drop(q, k, v);
    const start = rt.log.length;
    rt.backward(out, rt.allocate(out.bytes, 'activations'));
    // data/calibration/allocator-traces/trace-10.csv.gz: 48 requests of 8,454,400 B, one in
    // each layer's backward of each step; after the seed, dq, dk and dv
    expect(deltasOf(rt.log, start)[4]).toBe(Math.ceil(8_454_400 / 512) * 512);
  });
});

describe('eagerAttention: transformers eager_attention_forward', () => {
  // attn_weights = matmul(q, k^T) * scaling; softmax(attn_weights, dim=-1, dtype=float32)
  // .to(q.dtype); matmul(attn_weights, v); transpose(1, 2).contiguous().
  const Q = TOKENS * 4 * HEAD_DIM * BF16; // 32,768 B
  const SCORES = 4 * TOKENS * TOKENS * BF16; // heads x queries x keys in bf16: 131,072 B
  const SCORES32 = 4 * TOKENS * TOKENS * FP32; // the same in fp32: 262,144 B

  it('keeps the fp32 softmax and its bf16 cast: 6 bytes per score', () => {
    const { rt, nn } = setUp();
    const [q, k, v] = qkv(rt, MHA);
    const start = rt.log.length;
    const out = eagerAttention(nn, [q, k, v], MHA, TOKENS);
    expect(deltasOf(rt.log, start)).toEqual([
      SCORES, // q @ k^T (saves q and k, not its output)
      SCORES, // * scaling
      -SCORES, //   q @ k^T, read
      SCORES32, // softmax(dtype=float32) converts a bf16 input first (SoftMax.cpp softmax)
      -SCORES, //   the scaled scores
      SCORES32, // the softmax: saved (SoftmaxBackward0 keeps its result)
      -SCORES32, //   the converted input
      SCORES, // .to(q.dtype): saved by the matmul with v
      Q, // @ v: (b, h, s, d)
      Q, // transpose(1, 2).contiguous()
      -Q, //   the (b, h, s, d) result
    ]);
    rt.drop(q, k, v, out);
    expect(liveBytes(rt.log, undefined, 'activations')).toBe(3 * Q + SCORES32 + SCORES);
  });

  it('repeats K and V to every query head under grouped queries (repeat_kv copies)', () => {
    const { rt, nn } = setUp();
    const [q, k, v] = qkv(rt, GQA);
    const start = rt.log.length;
    eagerAttention(nn, [q, k, v], GQA, TOKENS);
    // expand + reshape of a (b, kv, s, d) tensor to (b, heads, s, d): one copy each.
    expect(deltasOf(rt.log, start).slice(0, 2)).toEqual([Q, Q]);
  });
});
