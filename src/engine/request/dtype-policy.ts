// Which tensor is kept in which dtype under each precision regime: the one place the engine
// decides bytes per element (memory-model.md section 3; fp8 adds its rows here).
import { Fp8Recipe, PlanRequest } from '../vocabulary';

export const FP32 = 4;
export const BF16 = 2;

/** Bytes per element of one trained parameter's states. */
export interface StateBytes {
  weight: number;
  gradient: number;
  /** The fp32 master copy of 16-bit weights (0 when the weights are the master). */
  master: number;
  /** One element of one optimizer state (fp32 4, bf16 2; 8-bit optimizers count their own). */
  optimizerElement: number;
}

export interface DtypePolicy {
  /** Trained full-model parameters (full fine-tuning). */
  trained: StateBytes;
  /** LoRA adapters (PEFT upcasts them to fp32 unless told otherwise). */
  adapter: StateBytes;
  /** A frozen base weight outside QLoRA's 4-bit linears (LoRA's base, embeddings, norms). */
  frozenWeight: number;
  /** Matmul inputs and outputs: 2 unless the run is fp32. */
  compute: number;
  /** torch.autocast casts fp32 weights and inputs of matmuls to `compute` bytes. */
  autocast: boolean;
  /** A unit FSDP gathers: its compute dtype (FSDP2 MixedPrecisionPolicy param_dtype). */
  gathered: number;
  /** What FSDP reduce-scatters gradients in (MixedPrecisionPolicy reduce_dtype). */
  reduce: number;
  /** fp8 linears (memory/fp8.ts): their matmul inputs are cast to 1 byte; under torchao's fp8
   * all-gather their weights are gathered as 1 byte too. */
  fp8?: { recipe: Exclude<Fp8Recipe, 'none'>; gathered: number };
}

/** One byte per element of an fp8 (e4m3 / e5m2) tensor. */
export const FP8 = 1;

/** Everything in fp32, or everything in the parameter's 16-bit dtype. */
const FP32_STATES: StateBytes = { weight: FP32, gradient: FP32, master: 0, optimizerElement: FP32 };
const BF16_STATES: StateBytes = { weight: BF16, gradient: BF16, master: 0, optimizerElement: BF16 };

/** Trained parameters by regime (memory-model.md section 3, table). */
function trainedStates(request: PlanRequest): StateBytes {
  const { precision } = request.training;
  const { runtime } = request;
  if (precision === 'fp32') return FP32_STATES;
  // Pure 16-bit: torch optimizers keep their moments in the parameter dtype.
  if (precision === 'bf16-pure') return BF16_STATES;
  switch (runtime.mixedPrecisionStyle) {
    case 'amp': // autocast over fp32 params: the params are the master copy
    case 'fsdp2': // FSDP2: fp32 sharded params, fp32 reduce
      return FP32_STATES;
    case 'master-weights': // DeepSpeed / Megatron: 16-bit params + fp32 master
      return {
        weight: BF16,
        gradient: runtime.fp32Gradients ? FP32 : BF16,
        master: FP32,
        optimizerElement: FP32,
      };
  }
}

/** AMP over fp32 parameters (HF Trainer's bf16 flag, Lightning's 16-mixed). */
function autocastOverFp32(request: PlanRequest): boolean {
  const { training, runtime } = request;
  return (
    training.precision !== 'fp32' &&
    training.precision !== 'bf16-pure' &&
    runtime.mixedPrecisionStyle === 'amp'
  );
}

/** Bytes an element of the model's own tensors takes, a buffer's too (BART's
 * final_logits_bias): the trained weights' dtype in full fine-tuning, the frozen base's
 * otherwise. */
export function modelTensorBytes(policy: DtypePolicy, request: PlanRequest): number {
  return request.training.method === 'full' ? policy.trained.weight : policy.frozenWeight;
}

/** The dtypes of one request. */
export function dtypePolicy(request: PlanRequest): DtypePolicy {
  const { training, runtime } = request;
  const fp32Run = training.precision === 'fp32';
  const compute = fp32Run ? FP32 : BF16;
  const autocast = autocastOverFp32(request);
  const adapterFp32 = fp32Run || runtime.adapterDtype === 'fp32';
  return {
    trained: trainedStates(request),
    adapter: adapterFp32 ? FP32_STATES : BF16_STATES,
    // AMP keeps the whole model in fp32 and casts on the fly; otherwise the base is 16-bit.
    frozenWeight: fp32Run || autocast ? FP32 : BF16,
    compute,
    autocast,
    gathered: compute,
    // FSDP2 in torchtitan reduces in fp32 (reduce_dtype=float32); other regimes in the grad dtype.
    reduce: runtime.mixedPrecisionStyle === 'fsdp2' ? FP32 : trainedStates(request).gradient,
    fp8: fp8Policy(request, compute),
  };
}

/** fp8 linears of a full fine-tune (neither torchao's conversion nor Transformer Engine applies
 * to adapters); tensorwise scaling alone gathers fp8 weights (torchao fsdp_utils). */
function fp8Policy(request: PlanRequest, compute: number): DtypePolicy['fp8'] {
  const { runtime, training } = request;
  if (runtime.fp8Recipe === 'none' || training.method !== 'full') return undefined;
  const fp8Gather = runtime.fp8AllGather && runtime.fp8Recipe === 'tensorwise';
  return { recipe: runtime.fp8Recipe, gathered: fp8Gather ? FP8 : compute };
}
