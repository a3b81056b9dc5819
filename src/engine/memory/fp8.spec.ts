// One fp8 linear as torchao and Transformer Engine run it: what stays saved for backward and
// what the casts add while the matmuls run, written out for a 1,024 x 512 input and a
// 256 x 512 bf16 weight.
import { STORED_WEIGHTS } from './autograd/nn';
import { Ops } from './autograd/ops';
import { Runtime } from './autograd/runtime';
import { Fp8Nn } from './fp8';
import { makeParam } from './model/rank-model';
import { Fp8Recipe } from '../vocabulary';

const rows = 1024;
const k = 512;
const n = 256;

/** Live bytes after each event, from the first event on. */
function running(rt: Runtime, from = 0): number[] {
  const { log } = rt;
  const levels: number[] = [];
  let live = 0;
  for (let i = 0; i < log.length; i++) {
    live += log.kind[i] * log.bytes[i];
    if (i >= from) levels.push(live);
  }
  return levels;
}

function linear(recipe: Exclude<Fp8Recipe, 'none'>) {
  const rt = new Runtime();
  const precision = { matmul: 2, autocast: false, quantization: 'bitsandbytes' as const };
  const nn = new Fp8Nn(new Ops(rt), precision, STORED_WEIGHTS, { recipe, gathered: 2 });
  const weight = makeParam('q_proj', n * k, true, 2);
  weight.shape = [n, k];
  weight.storage = rt.allocate(n * k * 2, 'weights');
  const x = rt.tensor(rows, k, 2, true);
  const forwardFrom = rt.log.length;
  const out = nn.plainLinear(x, { weight, outFeatures: n });
  const forward = running(rt, forwardFrom);
  rt.drop(x);
  const afterForward = running(rt).at(-1)!;
  const backwardFrom = rt.log.length;
  rt.backward(out, rt.allocate(out.bytes, 'activations'));
  return { forward, afterForward, backward: running(rt, backwardFrom), nn, rt };
}

const weightBytes = n * k * 2;
const inputBytes = rows * k * 2;
const outputBytes = rows * n * 2;

describe('torchao Float8Linear', () => {
  it('keeps the bf16 input and weight for backward, as a bf16 linear does', () => {
    const { afterForward } = linear('tensorwise');
    expect(afterForward).toBe(weightBytes + inputBytes + outputBytes);
  });

  it('forward: the fp8 input and weight exist only around the matmul', () => {
    const { forward } = linear('tensorwise');
    const base = weightBytes + inputBytes;
    expect(Math.max(...forward)).toBe(base + rows * k + n * k + outputBytes);
  });

  it("backward (tensorwise): fp8 output gradient, then the input's gradient beside the fp8 weight, then the weight's beside the fp8 input", () => {
    const { backward } = linear('tensorwise');
    const live0 = weightBytes + inputBytes + 2 * outputBytes; // the output and its seed
    const inputGrad = inputBytes;
    // g8 (r n) stays throughout; w8 (n k) + input grad, then input grad + x8 (r k) + weight grad
    const peak = live0 + rows * n + Math.max(n * k + inputGrad, inputGrad + rows * k + weightBytes);
    expect(Math.max(...backward)).toBe(peak);
  });

  it('backward (rowwise): the output gradient is cast a second time, along the other axis', () => {
    const tensorwise = Math.max(...linear('tensorwise').backward);
    expect(Math.max(...linear('rowwise').backward) - tensorwise).toBe(rows * n);
  });
});

describe('Transformer Engine Linear', () => {
  it('keeps the fp8 input for backward and an fp8 weight with its transpose for the run', () => {
    const { afterForward } = linear('transformer-engine');
    const cache = 2 * n * k; // fp8 weight and its transpose
    expect(afterForward).toBe(weightBytes + cache + rows * k + outputBytes);
  });
});
