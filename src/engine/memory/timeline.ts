// One rank's training run as a timeline of tensor events: the model built, then optimizer steps
// of forward and backward micro-batches in the order the pipeline schedule runs them, each step
// ended by the data-parallel wrapper's last reduction and the optimizer (memory-model.md
// section 0). The first step creates the optimizer states; the second is the steady state the
// plan reports; the third lets the caching allocator settle as the harness measures it, and is
// written out from the second where it would repeat it (repeated-step.ts). The search's probes
// may start at the second step instead (TrainingLoop.startsSteady).
import { EventLog } from './autograd/events';
import { ModuleHooks, ModuleName } from './autograd/hooks';
import { NodeTag, Param, Runtime, Storage, Tensor } from './autograd/runtime';
import { StageModel, StageOutput } from './model/causal-lm';
import {
  createStates,
  OptimizerSettings,
  stepInBackward,
  stepTemporaries,
  zeroGrad,
} from './optimizer';
import { appendRepeatedStep, repeatableStep } from './repeated-step';
import { PipelineAction, PipelineRuntime, ScheduleTruncation } from './schedule';
import { Sharding, trainableInOrder } from './sharding';
import { ReferenceScoredObjective } from '../vocabulary';

/** One model chunk of the rank (its stage, or one virtual stage of an interleaved schedule). */
export interface ChunkRun {
  stage: StageModel;
  sharding: Sharding;
  /** It receives its input from another rank (not the first virtual stage). */
  receives: boolean;
  /** It sends its output to another rank (not the last virtual stage). */
  sends: boolean;
}

/** What pipeline parallelism adds between ranks. */
export interface PipelineSettings {
  runtime: PipelineRuntime;
  /** Micro-batches of the full step (the schedule may simulate fewer). */
  microBatches: number;
  /** The activation a stage receives (and the gradient it sends back): rows x cols elements as
   * the model computes on it, `sentRows` as it travels (sequence parallelism splits it). */
  activation: { rows: number; sentRows: number; cols: number; elementBytes: number };
}

/** TRL's DPO or KTO step (model/dpo.ts, model/kto.ts): the rows of a micro-batch and the
 * reference it scores them against. */
export interface PreferenceLoop {
  objective: ReferenceScoredObjective;
  sequences: number;
  /** 'policy': the trained model with its adapters disabled; or a separate model with its own
   * data-parallel wrapper; absent: the reference's log-probabilities come with the batch. */
  reference?: 'policy' | { stage: StageModel; sharding: Sharding };
}

export interface TrainingLoop {
  chunks: ChunkRun[];
  /** Absent: the loss the stage's settings name. DPO and KTO run without a pipeline (one
   * chunk). */
  preference?: PreferenceLoop;
  optimizer: OptimizerSettings;
  schedule: ScheduleTruncation;
  /** Absent without pipeline parallelism. */
  pipeline?: PipelineSettings;
  /** Steps simulated: the first creates the optimizer states, later ones find them. */
  steps: number;
  /** Start at the second step with what the first leaves behind already there (the optimizer
   * states and both cuBLAS workspaces) instead of simulating it. Only where nothing else
   * outlives a step (rank.ts startsSteady). */
  startsSteady: boolean;
  /** Bytes of cuBLAS's workspace per thread (CublasHandlePool.cpp getChosenWorkspaceSize): the
   * forward's thread makes one at the first matmul, autograd's backward thread another. */
  blasWorkspaceBytes: number;
  /** The loop keeps the model's logits referenced through backward. */
  retainLogits: boolean;
  /** The loop's variable keeps the last micro-batch's logits until the next forward returns
   * (litgpt's fit(): `logits = model(input_ids)` rebinds only then). */
  previousStepAlive: boolean;
  /** Each micro-batch's gradients are reduced (no accumulation without sync). */
  syncEveryMicroBatch: boolean;
  /** Each parameter is stepped as its gradient arrives (torchtune's optimizer in backward). */
  optimizerInBackward: boolean;
}

/** What one micro-batch's forward left for its backward (the schedule's fwd_cache). */
interface InFlight {
  /** The autograd graph its forward recorded. */
  graph: number;
  out: StageOutput;
  kept: Tensor[];
  input?: ReceivedInput;
}

/** A received activation and the gradient autograd leaves on it (the buffer's .grad). */
interface ReceivedInput {
  tensor: Tensor;
  handle: Tensor;
  grad?: Storage;
}

/** Routes module hooks to the chunk that runs now: each chunk is its own FSDP root. */
class ChunkHooks implements ModuleHooks {
  active?: ModuleHooks;
  beforeForward = (m: ModuleName) => this.active?.beforeForward?.(m);
  afterForward = (m: ModuleName) => this.active?.afterForward?.(m);
  beforeBackward = (tag: NodeTag) => this.active?.beforeBackward?.(tag);
  afterBackward = () => this.active?.afterBackward?.();
}

/** Runs the loop and returns every event. */
export function trainingTimeline(rt: Runtime, loop: TrainingLoop): EventLog {
  const hooks = new ChunkHooks();
  rt.hooks.add(hooks);
  for (const chunk of loop.chunks) {
    hooks.active = chunk.sharding;
    chunk.stage.build();
  }
  if (loop.preference)
    preparePreference(loop.chunks[loop.chunks.length - 1], loop.preference, hooks);
  const optimized = loop.chunks.flatMap(
    (c) => c.sharding.optimizerParams?.() ?? trainableInOrder(c.stage.model),
  );
  const runner = new ScheduleRunner(rt, loop, hooks);
  if (loop.optimizerInBackward) stepInBackward(rt, loop.optimizer, optimized);
  const firstStep = loop.startsSteady ? 2 : 1;
  if (loop.startsSteady) leftByFirstStep(rt, loop, optimized);
  else {
    rt.blasWorkspace.forward = loop.blasWorkspaceBytes;
    rt.blasWorkspace.backward = loop.blasWorkspaceBytes;
  }
  for (let step = firstStep; step <= loop.steps; step++) {
    // From the third step on, a step the one before repeats exactly is written out, not run.
    const repeat = step >= firstStep + 2 ? repeatableStep(rt.log, step - 1) : undefined;
    if (repeat) {
      appendRepeatedStep(rt.log, repeat);
      continue;
    }
    rt.step = step;
    runner.runStep(step === firstStep);
    rt.microBatch = 0;
    rt.enter('optimizer', -1, 'optimizer step');
    if (!loop.optimizerInBackward) optimizerStep(rt, loop, optimized, step === 1);
  }
  return rt.log;
}

/** DPOTrainer.__init__ (KTOTrainer.__init__ likewise) loads a separate reference after the
 * policy, wrapped for the same data-parallel engine (trl/models/utils.py prepare_deepspeed,
 * prepare_fsdp); each step's loss runs its forwards with its own wrapper's hooks. */
function preparePreference(head: ChunkRun, loop: PreferenceLoop, hooks: ChunkHooks): void {
  const { reference } = loop;
  let run: (() => Tensor) | undefined;
  if (reference === 'policy') run = () => head.stage.referenceLogits();
  else if (reference) {
    hooks.active = reference.sharding;
    reference.stage.build();
    run = () => {
      const outer = hooks.active;
      hooks.active = reference.sharding;
      try {
        return reference.stage.referenceLogits();
      } finally {
        hooks.active = outer;
      }
    };
  }
  head.stage.preference = { objective: loop.objective, sequences: loop.sequences, reference: run };
}

/** What the first step leaves for the second when gradients are set to None and no output
 * outlives its step: the optimizer states (torch/optim _init_group) and the cuBLAS workspace of
 * each thread that ran a matmul (CublasHandlePool.cpp keeps it for the thread's handle). */
function leftByFirstStep(rt: Runtime, loop: TrainingLoop, optimized: Param[]): void {
  createStates(rt, loop.optimizer, optimized);
  if (loop.blasWorkspaceBytes === 0) return;
  rt.allocate(loop.blasWorkspaceBytes, 'buffers'); // forward's thread
  rt.allocate(loop.blasWorkspaceBytes, 'buffers'); // autograd's backward thread
}

/** optimizer.step() between the engines' own work around it, then zero_grad. PyTorch's
 * optimizers step only the parameters a backward reached (a module that sat the step out, such
 * as Mllama's cross-attention on text, has no .grad and gets no state); DeepSpeed's and
 * Megatron's optimizers step their flat partitions whole. */
function optimizerStep(rt: Runtime, loop: TrainingLoop, optimized: Param[], first: boolean) {
  loop.chunks.forEach((c) => c.sharding.beforeOptimizerStep?.());
  const flat = loop.chunks.some((c) => c.sharding.optimizerParams);
  const stepped = flat ? optimized : optimized.filter((param) => param.reached);
  if (first) createStates(rt, loop.optimizer, stepped);
  stepTemporaries(rt, loop.optimizer, stepped);
  loop.chunks.forEach((c) => c.sharding.afterOptimizerStep?.());
  zeroGrad(rt, loop.optimizer, optimized);
}

/** The buffers torch.distributed.pipelining keeps per micro-batch for a whole run
 * (stage.py _prepare_forward_infra / _prepare_backward_infra): a receive buffer for each
 * micro-batch's input on a stage that receives, one for each micro-batch's output gradient on a
 * stage that sends. Megatron receives into fresh tensors instead (p2p_communication.py). */
interface ChunkBuffers {
  inputs: Tensor[];
  outputGrads: Storage[];
  /** Input gradients left on the receive buffers until the next step clears them. */
  inputGrads: Storage[];
  /** Losses the schedule keeps for the step (_internal_losses). */
  losses: Tensor[];
}

class ScheduleRunner {
  private readonly inFlight = new Map<string, InFlight>();
  /** Logits the loop still references after their backward (previousStepAlive). */
  private readonly previousLogits: Tensor[] = [];
  /** Graphs whose root the loop's `loss` still references after backward (previousStepAlive). */
  private readonly previousGraphs: number[] = [];
  private readonly buffers: ChunkBuffers[];
  /** Graphs recorded so far: the last forward's is this one. */
  private graphs = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly loop: TrainingLoop,
    private readonly hooks: ChunkHooks,
  ) {
    this.buffers = loop.chunks.map(() => ({
      inputs: [],
      outputGrads: [],
      inputGrads: [],
      losses: [],
    }));
  }

  runStep(first: boolean): void {
    const { loop } = this;
    if (loop.pipeline) this.startPipelineStep(first, loop.pipeline);
    const { actions, gapAt } = loop.schedule;
    const lastBackward = this.lastBackwards(actions);
    actions.forEach((action, index) => {
      if (index === gapAt) this.omittedMicroBatches();
      if (action.kind === 'F') this.forward(action, index >= gapAt);
      else this.backward(action, index >= gapAt, lastBackward.has(index));
    });
    if (gapAt >= actions.length) this.omittedMicroBatches();
    this.loop.chunks.forEach((chunk) => {
      this.hooks.active = chunk.sharding;
      chunk.sharding.finishBackward?.();
    });
    this.endPipelineStep();
  }

  /** The index of each chunk's last backward. */
  private lastBackwards(actions: PipelineAction[]): Set<number> {
    const last = new Map<number, number>();
    actions.forEach((a, i) => a.kind === 'B' && last.set(a.chunk, i));
    return new Set(last.values());
  }

  private enterMicroBatch(action: PipelineAction, afterGap: boolean): ChunkRun {
    const { rt, loop } = this;
    const chunk = loop.chunks[action.chunk];
    this.hooks.active = chunk.sharding;
    rt.microBatch = action.microBatch + (afterGap ? loop.schedule.omitted : 0);
    return chunk;
  }

  private forward(action: PipelineAction, afterGap: boolean): void {
    const chunk = this.enterMicroBatch(action, afterGap);
    // each forward records a graph of its own, as autograd does
    const graph = (this.rt.graph = ++this.graphs);
    const input = chunk.receives ? this.receive(action) : undefined;
    const out = chunk.stage.forward(input?.handle);
    // the loop rebinds `logits` and `loss`: the last micro-batch's logits and graph die
    this.rt.drop(...this.previousLogits.splice(0));
    this.previousGraphs.splice(0).forEach((graph) => this.rt.freeGraph(graph));
    const keepsOutput = this.loop.pipeline?.runtime === 'pytorch';
    const { retainLogits, previousStepAlive } = this.loop;
    const kept = retainLogits || previousStepAlive || keepsOutput ? out.logits : [];
    this.rt.drop(...out.logits.filter((logits) => !kept.includes(logits)));
    // Megatron frees a sent output's memory at once (schedules.py deallocate_output_tensor).
    if (chunk.sends && !keepsOutput) this.rt.drop(out.output);
    this.inFlight.set(`${action.chunk}:${action.microBatch}`, { graph, out, kept, input });
  }

  private backward(action: PipelineAction, afterGap: boolean, last: boolean): void {
    const chunk = this.enterMicroBatch(action, afterGap);
    const key = `${action.chunk}:${action.microBatch}`;
    const state = this.inFlight.get(key)!;
    this.inFlight.delete(key);
    const { rt } = this;
    rt.graph = state.graph;
    chunk.sharding.beforeMicroBatchBackward?.(this.loop.syncEveryMicroBatch || last);
    rt.backward(state.out.output, chunk.sends ? this.outputGrad(action) : undefined);
    if (state.out.isLoss && this.loop.pipeline?.runtime === 'pytorch') {
      this.buffers[action.chunk].losses.push(state.out.output); // _internal_losses
    } else {
      rt.drop(state.out.output);
    }
    if (this.loop.previousStepAlive) {
      // litgpt's fit(): `loss` keeps the graph, and so bitsandbytes' ctx.tensors, alive
      this.previousLogits.push(...state.kept);
      this.previousGraphs.push(state.graph);
    } else {
      rt.drop(...state.kept);
      rt.freeGraph();
    }
    if (state.input) this.afterInputGradient(action.chunk, state.input);
  }

  /** The input of a receiving chunk: PyTorch's persistent buffer for this micro-batch, or
   * Megatron's freshly received tensor, as the model reads it (the whole micro-batch's rows:
   * the layers do not split the sequence); a node on it catches the gradient autograd leaves
   * on the buffer, which backward reaches last (it carries no module's tag). */
  private receive(action: PipelineAction): ReceivedInput {
    const { rt } = this;
    const buffers = this.buffers[action.chunk];
    const tensor = buffers.inputs[action.microBatch] ?? this.received();
    const { rows, cols, elementBytes } = this.loop.pipeline!.activation;
    const handle = new Tensor(
      tensor.storage,
      rows * cols * elementBytes,
      rows,
      cols,
      elementBytes,
      true,
    );
    rt.retain(tensor.storage);
    rt.adoptHandle(handle);
    const input: ReceivedInput = { tensor, handle };
    rt.tag = undefined;
    rt.record([tensor], [handle], [], ([grad]) => {
      if (grad) rt.retain(grad);
      input.grad = grad;
    });
    return input;
  }

  /** A received activation as it travels: its rows split over tensor-parallel ranks under
   * sequence parallelism. It belongs with the activations the stage computes on. */
  private received(): Tensor {
    const { sentRows, cols, elementBytes } = this.loop.pipeline!.activation;
    return this.rt.tensor(sentRows, cols, elementBytes, true, 'activations');
  }

  /** The gradient of a sending chunk's output: PyTorch's persistent buffer, or Megatron's
   * freshly received tensor (freed once backward has used it). */
  private outputGrad(action: PipelineAction): Storage {
    const persistent = this.buffers[action.chunk].outputGrads[action.microBatch];
    if (persistent) {
      this.rt.retain(persistent);
      return persistent;
    }
    const { sentRows, cols, elementBytes } = this.loop.pipeline!.activation;
    return this.rt.allocate(sentRows * cols * elementBytes, 'buffers');
  }

  /** PyTorch leaves the gradient on the receive buffer until the next step; Megatron sends it
   * and lets its received input go. */
  private afterInputGradient(chunk: number, input: ReceivedInput): void {
    this.rt.drop(input.handle);
    if (this.loop.pipeline?.runtime === 'pytorch') {
      if (input.grad) this.buffers[chunk].inputGrads.push(input.grad);
      return;
    }
    this.rt.release(input.grad);
    this.rt.drop(input.tensor);
  }

  /** Step start: the first step allocates PyTorch's per-micro-batch buffers for the whole run;
   * every step clears the previous one's input gradients (stage.py clear_runtime_states). */
  private startPipelineStep(first: boolean, pipeline: PipelineSettings): void {
    const { rt, loop } = this;
    rt.microBatch = 0;
    rt.enter('forward', -1, 'pipeline buffers');
    this.buffers.forEach((buffers) => {
      buffers.inputGrads.forEach((grad) => rt.release(grad));
      buffers.inputGrads = [];
    });
    if (!first || pipeline.runtime !== 'pytorch') return;
    const { sentRows, cols, elementBytes } = pipeline.activation;
    loop.chunks.forEach((chunk, i) => {
      const buffers = this.buffers[i];
      for (let mb = 0; mb < pipeline.microBatches && chunk.receives; mb++) {
        buffers.inputs.push(this.received());
      }
      for (let mb = 0; mb < pipeline.microBatches && chunk.sends; mb++) {
        buffers.outputGrads.push(rt.allocate(sentRows * cols * elementBytes, 'buffers'));
      }
    });
  }

  /** Step end: the losses the schedule kept go (_update_losses). */
  private endPipelineStep(): void {
    this.buffers.forEach((buffers) => {
      buffers.losses.forEach((loss) => this.rt.drop(loss));
      buffers.losses = [];
    });
  }

  /** The steady-state micro-batches the truncated schedule left out each leave what PyTorch
   * keeps per micro-batch until the step ends: an input gradient on a receiving chunk, a loss
   * on the last stage. Everything else they allocate, an earlier period freed the same way. */
  private omittedMicroBatches(): void {
    const { rt, loop } = this;
    if (loop.pipeline?.runtime !== 'pytorch') return;
    const { rows, cols, elementBytes } = loop.pipeline.activation;
    loop.chunks.forEach((chunk, i) => {
      const buffers = this.buffers[i];
      for (let mb = 0; mb < loop.schedule.omitted; mb++) {
        if (chunk.receives)
          buffers.inputGrads.push(rt.allocate(rows * cols * elementBytes, 'activations'));
        if (chunk.stage.model.head) buffers.losses.push(rt.tensor(1, 1, 4, false, 'logitsAndLoss'));
      }
    });
  }
}
