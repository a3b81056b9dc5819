// The optimizer's memory on the device: its states, created at the first step (torch/optim:
// _init_group), the temporaries of the step itself, and zero_grad.
import { OptimizerKind } from '../vocabulary';
import { Param, Runtime } from './autograd/runtime';

export interface OptimizerSettings {
  kind: OptimizerKind;
  /** Bytes of one element of a state (fp32 4, bf16 2). */
  stateBytes: number;
  /** torch's multi-tensor (foreach) implementation, rather than fused or per-parameter. */
  foreach: boolean;
  /** The fused kernel (AdamW fused=True) keeps a step counter on the device per parameter. */
  fused: boolean;
  /** The states live outside the allocator (bitsandbytes paged) or on the host (offload). */
  offDevice: boolean;
  /** zero_grad(set_to_none=True) frees the gradients; false keeps them allocated. */
  gradientsSetToNone: boolean;
}

// bitsandbytes 8-bit optimizers: one fp32 absmax per 2048-element block per state
// (bitsandbytes/optim/optimizer.py Optimizer8bit, blocksize 2048).
const BNB_8BIT_BLOCK = 2048;
// The step counter _init_group makes on the device for fused and capturable steps: a 0-d fp32.
const STEP_COUNTER_BYTES = 4;

/** Per-parameter states `_init_group` creates, in order, as element byte counts. */
export function stateTensors(settings: OptimizerSettings, param: Param): number[] {
  const n = param.local?.states ?? param.elements;
  const b = settings.stateBytes;
  switch (settings.kind) {
    case 'adamw':
      return [n * b, n * b]; // exp_avg, exp_avg_sq
    case 'adamw-8bit':
    case 'paged-adamw-8bit': {
      const absmax = Math.ceil(n / BNB_8BIT_BLOCK) * 4;
      return [n, n, absmax, absmax]; // state1, state2 (uint8) and their block absmax
    }
    case 'sgd':
      return [];
    case 'sgd-momentum':
    case 'lion':
      return [n * b]; // momentum_buffer / exp_avg
    case 'adafactor':
      return factoredStates(param);
  }
}

/** torch.optim.Adafactor: a row and a column second moment for a matrix, a full one for a
 * vector (Shazeer and Stern 2018), in fp32 like its update. */
function factoredStates(param: Param): number[] {
  const shape = param.shape;
  if (!shape || shape[0] === 1 || shape[1] === 1) return [param.elements * 4];
  return [shape[0] * 4, shape[1] * 4];
}

/** The first step creates every state, parameter by parameter (torch/optim/adamw.py
 * _init_group); later steps find them. States off the device make no events. */
export function createStates(rt: Runtime, settings: OptimizerSettings, params: Param[]): void {
  if (settings.offDevice) return;
  for (const param of params) {
    if (settings.fused) rt.allocate(STEP_COUNTER_BYTES, 'optimizerStates');
    for (const bytes of stateTensors(settings, param)) rt.allocate(bytes, 'optimizerStates');
  }
}

/** The step's temporaries. The multi-tensor AdamW (and Lion) builds one list of state-sized
 * tensors over the whole group (_multi_tensor_adamw: exp_avg_sq_sqrt = _foreach_sqrt(...)) and
 * the multi-tensor Adafactor one list of full-size fp32 variance estimates (row_var @ col_var),
 * freed when the step returns; the per-parameter Adafactor makes each parameter's estimate
 * one parameter at a time (torch/optim/_adafactor.py _single_tensor_adafactor). */
export function stepTemporaries(rt: Runtime, settings: OptimizerSettings, params: Param[]): void {
  if (settings.offDevice) return;
  const elements = (param: Param) => param.local?.states ?? param.elements;
  const fp32Estimate = (param: Param) => elements(param) * 4;
  if (settings.kind === 'adafactor' && !settings.foreach) {
    for (const param of params) rt.release(rt.allocate(fp32Estimate(param), 'buffers'));
    return;
  }
  const listed =
    settings.kind === 'adamw' || settings.kind === 'lion' || settings.kind === 'adafactor';
  if (!settings.foreach || !listed) return;
  const bytes = (param: Param) =>
    settings.kind === 'adafactor' ? fp32Estimate(param) : elements(param) * settings.stateBytes;
  const temporaries = params.map((param) => rt.allocate(bytes(param), 'buffers'));
  temporaries.forEach((storage) => rt.release(storage));
}

/** optimizer.zero_grad(set_to_none=True): every gradient freed, in parameter order. */
export function zeroGrad(rt: Runtime, settings: OptimizerSettings, params: Param[]): void {
  if (!settings.gradientsSetToNone) return;
  for (const param of params) {
    rt.release(param.grad);
    param.grad = undefined;
  }
}

/** torchtune's optimizer in backward (recipes' _register_optim_in_bwd_hooks, training/memory.py
 * create_optim_in_bwd_wrapper): each parameter has an optimizer of its own, stepped by its
 * post-accumulate-grad hook the moment its gradient is ready, whose zero_grad frees the
 * gradient at once; its states appear at its first step. */
export function stepInBackward(rt: Runtime, settings: OptimizerSettings, params: Param[]): void {
  const stepped = new Set<Param>();
  for (const param of params) {
    const previous = param.afterGradient;
    param.afterGradient = (p) => {
      previous?.(p);
      if (!stepped.has(p)) createStates(rt, settings, [p]);
      stepped.add(p);
      stepTemporaries(rt, settings, [p]);
      rt.release(p.grad);
      p.grad = undefined;
    };
  }
}
