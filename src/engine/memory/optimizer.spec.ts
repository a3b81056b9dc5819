// The optimizer's device memory against torch/optim: which states the first step creates and in
// which dtype, what the step itself allocates, and what zero_grad frees. Two parameters, a
// 1024 x 256 matrix and a 300-element vector; bytes are elements x bytes per element, rounded
// up to 512 B blocks (c10/cuda/CUDACachingAllocator.cpp kMinBlockSize).
import { deltasOf, eventsOf, liveBytes } from '../../../test/support/event-log';
import { Param, Runtime } from './autograd/runtime';
import {
  createStates,
  OptimizerSettings,
  stateTensors,
  stepTemporaries,
  zeroGrad,
} from './optimizer';

const ROWS = 1024;
const COLS = 256;
const MATRIX = ROWS * COLS; // 262,144 elements
const VECTOR = 300;
const FP32 = 4;
const BF16 = 2;
const block = (bytes: number) => Math.ceil(bytes / 512) * 512;

function params(rt: Runtime, bytes = FP32): Param[] {
  const make = (name: string, elements: number, shape?: [number, number]): Param => {
    const p: Param = {
      name,
      elements,
      shape,
      storedBytes: bytes,
      trainable: true,
      gradientBytes: bytes,
    };
    p.storage = rt.allocate(elements * bytes, 'weights');
    p.grad = rt.allocate(elements * bytes, 'gradients');
    return p;
  };
  return [make('matrix', MATRIX, [ROWS, COLS]), make('vector', VECTOR)];
}

function settings(overrides: Partial<OptimizerSettings>): OptimizerSettings {
  return {
    kind: 'adamw',
    stateBytes: FP32,
    foreach: true,
    fused: false,
    offDevice: false,
    gradientsSetToNone: true,
    ...overrides,
  };
}

/** Runs `body` on a fresh runtime with the two parameters; returns its events' byte deltas. */
function deltasDuring(body: (rt: Runtime, ps: Param[]) => void, bytes = FP32): number[] {
  const rt = new Runtime();
  const ps = params(rt, bytes);
  const start = rt.log.length;
  body(rt, ps);
  return deltasOf(rt.log, start);
}

describe('AdamW states (torch/optim/adam.py _init_group, AdamW its subclass)', () => {
  it('creates exp_avg and exp_avg_sq like each parameter, parameter by parameter', () => {
    const deltas = deltasDuring((rt, ps) => createStates(rt, settings({}), ps));
    // zeros_like(p) twice per parameter; a foreach step keeps `step` on the CPU.
    expect(deltas).toEqual([
      MATRIX * FP32,
      MATRIX * FP32,
      block(VECTOR * FP32),
      block(VECTOR * FP32),
    ]);
  });

  it('fused: each parameter first gets a 0-d fp32 step counter on the device', () => {
    const deltas = deltasDuring((rt, ps) =>
      createStates(rt, settings({ foreach: false, fused: true }), ps),
    );
    // state["step"] = torch.zeros((), dtype=float32, device=p.device) when fused or capturable.
    expect(deltas).toEqual([
      512,
      MATRIX * FP32,
      MATRIX * FP32,
      512,
      block(VECTOR * FP32),
      block(VECTOR * FP32),
    ]);
  });

  it('keeps states in the state dtype: bf16 parameters, bf16 moments', () => {
    const deltas = deltasDuring(
      (rt, ps) => createStates(rt, settings({ stateBytes: BF16 }), ps),
      BF16,
    );
    expect(deltas.slice(0, 2)).toEqual([MATRIX * BF16, MATRIX * BF16]);
  });

  it('under ZeRO sizes the states by the elements this rank owns', () => {
    const rt = new Runtime();
    const [matrix] = params(rt);
    matrix.local = { weight: MATRIX / 8, states: MATRIX / 8 };
    expect(stateTensors(settings({}), matrix)).toEqual([(MATRIX / 8) * FP32, (MATRIX / 8) * FP32]);
  });

  it('makes no device event when the states live elsewhere (CPU offload, paged)', () => {
    expect(deltasDuring((rt, ps) => createStates(rt, settings({ offDevice: true }), ps))).toEqual(
      [],
    );
  });
});

describe('the AdamW step (torch/optim/adam.py _multi_tensor_adam, _fused_adam)', () => {
  it('foreach: one exp_avg_sq-sized list (_foreach_sqrt), freed when the step returns', () => {
    const deltas = deltasDuring((rt, ps) => stepTemporaries(rt, settings({}), ps));
    const sizes = [MATRIX * FP32, block(VECTOR * FP32)];
    // exp_avg_sq_sqrt = torch._foreach_sqrt(device_exp_avg_sqs): the whole list at once;
    // the other updates (lerp_, mul_, addcmul_, div_, add_, addcdiv_) are in place.
    expect(deltas).toEqual([...sizes, ...sizes.map((bytes) => -bytes)]);
  });

  it('fused: no temporaries (one _fused_adamw_ kernel updates in place)', () => {
    const fused = settings({ foreach: false, fused: true });
    expect(deltasDuring((rt, ps) => stepTemporaries(rt, fused, ps))).toEqual([]);
  });
});

describe('Adafactor (torch/optim/_adafactor.py)', () => {
  const adafactor = (foreach: boolean) => settings({ kind: 'adafactor', foreach });

  it('factors a matrix second moment into rows + columns, a vector keeps a full one', () => {
    // row_var = p.grad.new_zeros(rows, 1), col_var = p.grad.new_zeros(1, cols); a vector's
    // variance = zeros_like(p.grad): in the gradient's dtype, fp32 here.
    const rt = new Runtime();
    const [matrix, vector] = params(rt);
    expect(stateTensors(adafactor(false), matrix)).toEqual([ROWS * FP32, COLS * FP32]);
    expect(stateTensors(adafactor(false), vector)).toEqual([VECTOR * FP32]);
    const start = rt.log.length;
    createStates(rt, adafactor(false), [matrix, vector]);
    expect(deltasOf(rt.log, start)).toEqual([ROWS * FP32, COLS * FP32, block(VECTOR * FP32)]);
  });

  it('per parameter: one full-size variance estimate at a time (row_var @ col_var)', () => {
    const deltas = deltasDuring((rt, ps) => stepTemporaries(rt, adafactor(false), ps));
    const matrix = MATRIX * FP32;
    const vector = block(VECTOR * FP32); // variance.clone()
    expect(deltas).toEqual([matrix, -matrix, vector, -vector]);
  });
});

describe('zero_grad (torch/optim/optimizer.py)', () => {
  it('set_to_none frees every gradient in parameter order', () => {
    const rt = new Runtime();
    const ps = params(rt);
    const start = rt.log.length;
    zeroGrad(rt, settings({}), ps);
    expect(eventsOf(rt.log, start).map((e) => [e.kind * e.bytes, e.component])).toEqual([
      [-MATRIX * FP32, 'gradients'],
      [-block(VECTOR * FP32), 'gradients'],
    ]);
    expect(ps.every((p) => p.grad === undefined)).toBe(true);
    expect(liveBytes(rt.log, undefined, 'gradients')).toBe(0);
  });

  it('set_to_none=False zeroes them in place: nothing freed', () => {
    const deltas = deltasDuring((rt, ps) =>
      zeroGrad(rt, settings({ gradientsSetToNone: false }), ps),
    );
    expect(deltas).toEqual([]);
  });
});
