// A small model of PyTorch's eager runtime as far as memory goes: storages freed when their last
// reference (a Python variable, a view, a tensor saved for backward, a gradient in flight) goes,
// and autograd's backward walking the recorded nodes from the newest (torch/csrc/autograd/
// engine.cpp: the ready queue orders nodes by sequence number, newest first).
import { COMPONENT_INDEX, Component, EventLog, Moment, roundedBytes } from './events';
import { HookList } from './hooks';
import { PolicyOp, SelectiveCache, SelectivePolicy } from './selective';

/** The tensors a function returns: itself, an array's, or an object's fields and arrays. */
function tensorsIn(value: unknown): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (Array.isArray(value)) return value.filter((item): item is Tensor => item instanceof Tensor);
  if (value && typeof value === 'object') return Object.values(value).flatMap(tensorsIn);
  return [];
}

/** Thrown inside a recompute once every node of the region has its saved tensors again. */
class RecomputeDone extends Error {}
// One instance, thrown every time: building an Error captures a stack trace, which a long
// pipeline's thousands of recomputes would pay for each time.
const RECOMPUTE_DONE = new RecomputeDone();

// Shared empty lists for the many nodes that keep no ctx attributes: frozen, so a push would
// throw rather than reach every node.
const NO_TENSORS: Tensor[] = Object.freeze([]) as unknown as Tensor[];
const NOTHING_HELD: Storage[] = Object.freeze([]) as unknown as Storage[];

function anyRequiresGrad(inputs: Tensor[]): boolean {
  for (const input of inputs) if (input.requiresGrad) return true;
  return false;
}

function hasGradient(pending: (Storage | undefined)[]): boolean {
  for (const grad of pending) if (grad) return true;
  return false;
}

/** The storages of the tensors an op saves, in a list of their number (a list grown by push
 * from empty takes room for 17). */
function savedStorages(saved: (Tensor | undefined)[]): Storage[] {
  let count = 0;
  for (const tensor of saved) if (tensor) count++;
  if (count === 0) return [];
  const storages = new Array<Storage>(count);
  let i = 0;
  for (const tensor of saved) if (tensor) storages[i++] = tensor.storage;
  return storages;
}

export class Storage {
  refs = 0;
  /** False while its memory is given back and the storage kept (untyped_storage().resize_(0),
   * as FSDP frees an unsharded parameter that saved tensors still reference). */
  resident = true;
  constructor(
    readonly key: number,
    readonly bytes: number,
    readonly component: Component,
    /** The stream its memory was allocated on: a block goes back to that stream's pool. */
    public stream: number,
  ) {}
}

/** A parameter: stored once (weights), trained or frozen, with a gradient once backward made one. */
export interface Param {
  name: string;
  elements: number;
  /** Rows and columns of a matrix (Adafactor factors its second moment by them). */
  shape?: [number, number];
  /** Bytes per element as stored. */
  storedBytes: number;
  trainable: boolean;
  /** requires_grad left True on a parameter nothing trains (TRL's DPO and KTO reference, as
   * from_pretrained loads it): autocast caches its casts (autocast_mode.cpp cached_cast caches
   * a leaf that requires grad, under no_grad too). */
  untrainedRequiresGrad?: boolean;
  /** A routed expert's: expert parallelism gave this rank its experts, and ZeRO and FSDP shard
   * them over the ranks that hold the same experts only (sharding/shard-world.ts). */
  expert?: boolean;
  /** A buffer the module registers (GPT-2's causal mask), not an nn.Parameter: FSDP and ZeRO-3
   * shard parameters only, so every rank keeps it whole (sharding/index.ts shardedParams). */
  buffer?: boolean;
  /** Bytes per element of its gradient (the stored dtype, or fp32 main gradients). */
  gradientBytes: number;
  storage?: Storage;
  /** Elements this rank keeps of it: of the weight itself (ZeRO-3 / FSDP shard it), of its
   * optimizer states (ZeRO-1 and up) and of its gradient after the reduction (ZeRO-2 and up). */
  local?: { weight: number; states: number };
  /** The full weight a sharded parameter is gathered into while its module computes, in the
   * gathered dtype (FSDP's unsharded parameter). */
  gathered?: { storage: Storage; bytes: number };
  grad?: Storage;
  /** Uses in each recorded graph (by graph) whose gradients have not arrived yet: AccumulateGrad
   * runs once all of that graph's have, the earlier ones waiting summed in its input buffer. A
   * pipeline keeps several micro-batches' graphs recorded at once. */
  pendingUses?: Map<number, number>;
  buffered?: Storage;
  /** Gradients arrive here instead of .grad (FSDP's unsharded gradients, a hook's own buffer). */
  onGradient?: (grad: Storage, param: Param) => void;
  /** Called once AccumulateGrad has stored or added a gradient (post-accumulate-grad hooks). */
  afterGradient?: (param: Param) => void;
  /** A backward has reached it (its AccumulateGrad ran): PyTorch's optimizers make states only
   * for parameters whose .grad is set (torch/optim/adamw.py _init_group). */
  reached?: boolean;
}

/** A tensor handle: what a Python variable holds. */
export class Tensor {
  /** Whether this handle still holds its reference (False once the variable is gone). */
  alive = true;
  node?: GraphNode;
  outputIndex = 0;
  /** The component the tensors made from this one count in, where not its storage's: a
   * parameter expanded as a forward's input (Ops.paramInput). */
  declare madeIn?: Component;
  constructor(
    readonly storage: Storage,
    /** Logical bytes (a view can be smaller than its storage). */
    readonly bytes: number,
    readonly rows: number,
    readonly cols: number,
    readonly elementBytes: number,
    readonly requiresGrad: boolean,
    readonly param?: Param,
  ) {}
}

/** The component a tensor made from `t` counts in: its storage's, or its own madeIn. */
export function componentOf(t: Tensor): Component {
  return t.madeIn ?? t.storage.component;
}

/** What a node's backward gives each input: a gradient storage, or nothing. */
export type Backward = (grads: (Storage | undefined)[]) => void;

export interface GraphNode {
  seq: number;
  inputs: Tensor[];
  saved: Storage[];
  /** Tensors a custom Function keeps as ctx attributes: backward does not free them, the
   * graph's end does (bitsandbytes MatMul4Bit's ctx.tensors). */
  held: Storage[];
  /** The moment its forward ran, named again when its backward runs. */
  tag?: NodeTag;
  pending: (Storage | undefined)[];
  backward: Backward;
  /** Whether its forward saves anything for backward (a recompute refills it). */
  saves: boolean;
  /** The checkpointed region it belongs to, recomputed before its first node runs backward. */
  region?: CheckpointRegion;
}

export interface NodeTag {
  layer: number;
  what: string;
}

export interface CheckpointRegion {
  run: () => void;
  nodes: GraphNode[];
  recomputed: boolean;
  /** Region inputs the checkpoint keeps referenced until the region's backward is done. */
  inputs: Storage[];
  /** Outputs a selective policy saved in forward, for the recompute to take back. */
  selective?: SelectiveCache;
}

/** A region's forward run again: the node the next recorded op refills, and the last node
 * whose saved tensors it needs. */
interface Recompute {
  region: CheckpointRegion;
  recompute: GraphNode[];
  cursor: number;
  lastSaving: number;
  /** Non-reentrant checkpointing stops at the last saving node; a reentrant one reruns the
   * region's whole forward (CheckpointFunction.backward calls run_function in full). */
  stopEarly: boolean;
}

/** torch.autograd.graph.saved_tensors_hooks as far as memory goes: `pack` sees each tensor a
 * node saves (or a checkpoint keeps as an input) in the list that holds it, and may take the
 * device copy away; `unpack` runs before the list's tensors are used again. */
export interface SavedTensorsHooks {
  pack(holder: Storage[], storage: Storage): void;
  unpack(holder: Storage[]): void;
}

export class Runtime {
  readonly log = new EventLog();
  savedTensorsHooks?: SavedTensorsHooks;
  private nextKey = 1;
  private seq = 0;
  /** Recorded nodes per graph (one per micro-batch's forward). */
  private graphs = new Map<number, GraphNode[]>();
  /** The graph new nodes join: the schedule sets it per micro-batch. */
  graph = 0;

  /** Whether the graph now running backward used `param` in its forward: a parameter it did not
   * use gets no gradient from it (AccumulateGrad is not in the graph). */
  usedInGraph(param: Param): boolean {
    return param.pendingUses?.has(this.graph) ?? false;
  }
  private scopes: Tensor[][] = [[]];
  /** Saving for backward is off in a checkpointed forward; a recompute fills existing nodes. */
  private mode: 'record' | 'no-save' | Recompute = 'record';
  private region?: CheckpointRegion;
  /** Checkpointed forwards run under no_grad (use_reentrant=True): nothing keeps ctx attributes. */
  reentrantCheckpointing = false;
  /** Gradients a running node's backward hands on, routed once it is done (deliver): targets
   * and gradients side by side, one pair of lists reused by every node. */
  private readonly outbox = {
    open: false,
    count: 0,
    targets: [] as (Tensor | undefined)[],
    grads: [] as (Storage | undefined)[],
  };
  /** Called when a recompute is over (autocast's cache, re-entered for it, is cleared). */
  onRecomputeEnd?: () => void;
  /** What the model is running now (layer, part), stamped on each recorded node. */
  tag?: NodeTag;
  private readonly viewGrads = new Set<Storage>();
  gradEnabled = true;
  stream = 0;
  /** What data-parallel wrappers do around modules and backward. */
  readonly hooks = new HookList();

  /** cuBLAS's per-thread workspace, allocated by the first matmul a thread runs (forward on the
   * main thread, backward on autograd's): bytes still to allocate, or 0. */
  readonly blasWorkspace = { forward: 0, backward: 0 };
  /** The optimizer step and micro-batch now running (the schedule sets them). */
  step = 0;
  microBatch = 0;

  mark(moment: Moment): void {
    this.log.mark(moment);
  }

  /** Names what runs from now on: a new moment on the log, and the tag new nodes carry. */
  enter(phase: Moment['phase'], layer: number, what: string): void {
    this.tag = { layer, what };
    this.mark({ step: this.step, phase, layer, microBatch: this.microBatch, what });
  }

  /** The component a region's activation tensors count under (the head's logits and the
   * loss's temporaries are `logitsAndLoss`). */
  private activationComponent: Component = 'activations';

  /** Runs `body` with the activations it makes counted under `component`. */
  countedAs<T>(component: Component, body: () => T): T {
    const outer = this.activationComponent;
    this.activationComponent = component;
    try {
      return body();
    } finally {
      this.activationComponent = outer;
    }
  }

  /** A new storage with one reference (the handle about to be made for it). */
  allocate(bytes: number, kind: Component): Storage {
    const component = kind === 'activations' ? this.activationComponent : kind;
    const storage = new Storage(this.nextKey++, roundedBytes(bytes), component, this.stream);
    storage.refs = 1;
    this.log.push(1, storage.key, storage.bytes, COMPONENT_INDEX[component], storage.stream);
    return storage;
  }

  /** Runs `body`, whose events happen once in the run, never again in a later step. */
  onceInRun(body: () => void): void {
    const first = this.log.length;
    body();
    for (let i = first; i < this.log.length; i++) this.log.onceInRun.push(i);
  }

  /** A matmul is about to run: the thread's cuBLAS workspace appears the first time. */
  beforeMatmul(thread: 'forward' | 'backward'): void {
    const bytes = this.blasWorkspace[thread];
    if (bytes === 0) return;
    this.blasWorkspace[thread] = 0;
    this.allocate(bytes, 'buffers');
  }

  retain(storage: Storage): void {
    if (storage.refs <= 0) throw new Error(`storage ${storage.key} used after it was freed`);
    storage.refs++;
  }

  /** torch.cuda.empty_cache(): cached segments with nothing allocated go back to the driver. */
  emptyCache(): void {
    this.log.push(0, 0, 0, 0, 0);
  }

  /** storage.resize_(0): the memory goes back to the allocator, the storage object stays. */
  evict(storage: Storage): void {
    if (!storage.resident) return;
    storage.resident = false;
    this.log.push(
      -1,
      storage.key,
      storage.bytes,
      COMPONENT_INDEX[storage.component],
      storage.stream,
    );
  }

  /** storage.resize_(n): the memory is allocated again for the same storage. */
  restore(storage: Storage): void {
    if (storage.resident) return;
    storage.resident = true;
    storage.stream = this.stream; // the new block belongs to the stream that allocated it
    this.log.push(1, storage.key, storage.bytes, COMPONENT_INDEX[storage.component], this.stream);
  }

  release(storage: Storage | undefined): void {
    if (!storage) return;
    if (storage.refs <= 0) throw new Error(`storage ${storage.key} released twice`);
    if (storage.refs === 1) this.viewGrads.delete(storage); // a freed gradient is no view
    if (--storage.refs === 0 && storage.resident) {
      this.log.push(
        -1,
        storage.key,
        storage.bytes,
        COMPONENT_INDEX[storage.component],
        storage.stream,
      );
    }
  }

  /** A handle over a fresh storage, owned by the innermost scope. */
  tensor(
    rows: number,
    cols: number,
    elementBytes: number,
    requiresGrad: boolean,
    component: Component = 'activations',
  ): Tensor {
    const bytes = rows * cols * elementBytes;
    const handle = new Tensor(
      this.allocate(bytes, component),
      bytes,
      rows,
      cols,
      elementBytes,
      requiresGrad && this.gradEnabled,
    );
    this.adopt(handle);
    return handle;
  }

  /** A second handle on the same storage (a view): it keeps the storage alive too. A handle
   * `owned` by no Python frame (a cache's) outlives every scope until it is dropped. */
  view(base: Tensor, cols = base.cols, requiresGrad = base.requiresGrad, owned = true): Tensor {
    this.retain(base.storage);
    const handle = new Tensor(
      base.storage,
      base.rows * cols * base.elementBytes,
      base.rows,
      cols,
      base.elementBytes,
      requiresGrad,
      base.param,
    );
    // Until an op records it as its own output, the view is the same autograd tensor.
    handle.node = base.node;
    handle.outputIndex = base.outputIndex;
    if (owned) this.adopt(handle);
    return handle;
  }

  /** A view of the first `rows` rows' worth of `base` (a chunk along the sequence), or of all
   * of it `cols` wide. */
  rowView(base: Tensor, rows: number, cols = base.cols): Tensor {
    this.retain(base.storage);
    const handle = new Tensor(
      base.storage,
      rows * cols * base.elementBytes,
      rows,
      cols,
      base.elementBytes,
      base.requiresGrad,
    );
    this.adopt(handle);
    return handle;
  }

  /** A handle on a parameter's own storage (no allocation). */
  paramHandle(param: Param, storage: Storage, rows: number, cols: number, bytes: number): Tensor {
    this.retain(storage);
    const handle = new Tensor(
      storage,
      rows * cols * bytes,
      rows,
      cols,
      bytes,
      param.trainable && this.gradEnabled,
      param,
    );
    this.adopt(handle);
    return handle;
  }

  /** A handle made elsewhere joins the innermost scope (a Python local). */
  adoptHandle(handle: Tensor): void {
    this.adopt(handle);
  }

  private adopt(handle: Tensor): void {
    this.scopes[this.scopes.length - 1].push(handle);
  }

  /** The Python variable goes away. */
  drop(...handles: (Tensor | undefined)[]): void {
    for (const handle of handles) {
      if (!handle || !handle.alive) continue;
      handle.alive = false;
      this.release(handle.storage);
    }
  }

  /** Runs `body` as a Python function: its locals die at return, what it returns (tensors,
   * arrays of them, or an object holding them) lives on. */
  scope<T>(body: () => T): T {
    this.scopes.push([]);
    const result = body();
    const locals = this.scopes.pop()!;
    const kept = result instanceof Tensor ? [result] : tensorsIn(result);
    for (const handle of locals) {
      if (kept.includes(handle)) this.adopt(handle);
      else this.drop(handle);
    }
    return result;
  }

  /** Records an op for backward: what it saves and how its backward allocates. */
  record(
    inputs: Tensor[],
    outputs: Tensor[],
    saved: (Tensor | undefined)[],
    backward: Backward,
    held: Tensor[] = NO_TENSORS,
  ) {
    if (!this.gradEnabled || !anyRequiresGrad(inputs)) return;
    if (typeof this.mode === 'object') return this.refill(saved, outputs);
    const node: GraphNode = {
      seq: this.seq++,
      inputs,
      saved: this.mode === 'record' ? savedStorages(saved) : [],
      held: this.keepsHeld(held)
        ? held.map((t) => (this.retain(t.storage), t.storage))
        : NOTHING_HELD,
      pending:
        outputs.length === 1
          ? [undefined]
          : new Array<Storage | undefined>(outputs.length).fill(undefined),
      backward,
      saves: saved.some(Boolean),
      region: this.region,
      tag: this.tag,
    };
    if (this.mode === 'record') this.packSaved(node.saved);
    for (const input of inputs) {
      if (input.param && !input.node && input.requiresGrad) {
        const uses = (input.param.pendingUses ??= new Map());
        uses.set(this.graph, (uses.get(this.graph) ?? 0) + 1);
      }
    }
    this.region?.nodes.push(node);
    for (let index = 0; index < outputs.length; index++) {
      outputs[index].node = node;
      outputs[index].outputIndex = index;
    }
    const nodes = this.graphs.get(this.graph);
    if (nodes) nodes.push(node);
    else this.graphs.set(this.graph, [node]);
  }

  /** A recorded node's saved tensors: one more reference each, seen by the saved-tensor hooks. */
  private packSaved(holder: Storage[]): void {
    for (const storage of holder) {
      this.retain(storage);
      this.savedTensorsHooks?.pack(holder, storage);
    }
  }

  private save(node: GraphNode, saved: (Tensor | undefined)[]): void {
    for (const tensor of saved) {
      if (!tensor) continue;
      this.retain(tensor.storage);
      node.saved.push(tensor.storage);
      this.savedTensorsHooks?.pack(node.saved, tensor.storage);
    }
  }

  /** A recompute hands each node of the region the tensors its forward saves again. PyTorch
   * stops once the last saved tensor is packed again (checkpoint.py's early stop raises in the
   * pack hook); an op packs its saved inputs before its kernel runs, so when the last saving op
   * keeps none of its outputs, that kernel never runs and its outputs are never allocated. */
  private refill(saved: (Tensor | undefined)[], outputs: Tensor[]): void {
    const mode = this.mode as Recompute;
    const index = mode.cursor++;
    const node = mode.recompute[index];
    if (node) this.save(node, saved);
    if (!mode.stopEarly || index < mode.lastSaving) return;
    if (!outputs.some((output) => saved.includes(output))) {
      for (let i = outputs.length - 1; i >= 0; i--) this.retract(outputs[i].storage);
    }
    throw RECOMPUTE_DONE;
  }

  /** Takes back the allocation just made for `storage`, as if it never happened. */
  private retract(storage: Storage): void {
    if (!this.log.undoLastAllocation(storage.key)) return;
    storage.resident = false;
  }

  /** Whether a node keeps its ctx attributes: not in a reentrant checkpoint's first forward,
   * whose Functions run under no_grad and are discarded (torch/utils/checkpoint.py
   * CheckpointFunction.forward); a non-reentrant one's saved-tensor hooks cannot see them. */
  private keepsHeld(held: Tensor[]): boolean {
    return held.length > 0 && !(this.mode === 'no-save' && this.reentrantCheckpointing);
  }

  /** Non-reentrant activation checkpointing (torch/utils/checkpoint.py): the region's forward
   * saves nothing but its inputs, and its first node in backward recomputes it. */
  checkpoint<T extends Tensor>(inputs: Tensor[], body: () => T, policy?: SelectivePolicy): T {
    const region: CheckpointRegion = {
      run: () => this.scope(() => void body()),
      nodes: [],
      recomputed: false,
      inputs: inputs.map((input) => input.storage),
      selective: policy ? new SelectiveCache(policy) : undefined,
    };
    region.inputs.forEach((storage) => this.retain(storage));
    region.inputs.forEach((storage) => this.savedTensorsHooks?.pack(region.inputs, storage));
    const outer = { mode: this.mode, region: this.region };
    this.mode = 'no-save';
    this.region = region;
    const output = this.scope(body);
    this.mode = outer.mode;
    this.region = outer.region;
    // No op of the region joined the graph (nothing in it needs a gradient): no saved tensor
    // references the checkpoint's frame, so its inputs go with the forward.
    if (region.nodes.length === 0) this.endRegion(region);
    return output;
  }

  private recompute(region: CheckpointRegion): void {
    region.recomputed = true;
    const outer = { mode: this.mode, grad: this.gradEnabled, depth: this.scopes.length };
    let lastSaving = region.nodes.length - 1;
    while (lastSaving >= 0 && !region.nodes[lastSaving].saves) lastSaving--;
    if (lastSaving < 0) return; // nothing to unpack: backward never asks for a recompute
    const stopEarly = !this.reentrantCheckpointing;
    this.mode = { region, recompute: region.nodes, cursor: 0, lastSaving, stopEarly };
    try {
      region.run();
    } catch (stop) {
      if (!(stop instanceof RecomputeDone)) throw stop;
      // The interrupted forward's locals die with its frames.
      while (this.scopes.length > outer.depth) this.scopes.pop()!.forEach((t) => this.drop(t));
    }
    this.gradEnabled = outer.grad;
    this.mode = outer.mode;
    this.onRecomputeEnd?.();
  }

  /** Hands a gradient to `target`. While a node's backward runs, gradients wait until its
   * incoming gradients and saved tensors are released (engine.cpp evaluate_function). */
  deliver(target: Tensor, grad: Storage): void {
    const outbox = this.outbox;
    if (!outbox.open) return this.route(target, grad);
    outbox.targets[outbox.count] = target;
    outbox.grads[outbox.count++] = grad;
  }

  /** A parameter accumulates the gradient; an activation's node buffers it, and a second arrival
   * is added in place unless the buffered one is a view (input_buffer.cpp can_accumulate_inplace:
   * a linear's input gradient comes back as a reshape of mm's output), then out of place. */
  private route(target: Tensor, grad: Storage): void {
    const param = target.param;
    if (param && !target.node) return this.accumulate(param, grad);
    const node = target.node;
    if (!node) return this.release(grad);
    const slot = node.pending[target.outputIndex];
    if (!slot) {
      node.pending[target.outputIndex] = grad;
      return;
    }
    if (this.viewGrads.has(slot)) {
      const sum = this.allocate(slot.bytes, slot.component);
      this.release(slot);
      node.pending[target.outputIndex] = sum;
    }
    this.release(grad);
  }

  /** Marks a gradient that reaches its tensor as a view of another op's output. */
  markViewGrad(grad: Storage): void {
    this.viewGrads.add(grad);
  }

  /** A parameter used twice (a tied embedding and head) sums its gradients in AccumulateGrad's
   * input buffer, in place unless the buffered one is a view (mm's weight gradient is a
   * transposed view; autocast's ToCopyBackward hands over a fresh tensor), and AccumulateGrad
   * runs once the last one arrived: the first becomes .grad, later ones are added into it. */
  private accumulate(param: Param, grad: Storage): void {
    param.reached = true;
    const uses = param.pendingUses;
    const pending = Math.max(0, (uses?.get(this.graph) ?? 1) - 1);
    uses?.set(this.graph, pending);
    if (param.buffered && this.viewGrads.has(param.buffered)) {
      const sum = this.allocate(grad.bytes, 'gradients');
      this.release(param.buffered);
      this.release(grad);
      grad = sum;
    } else if (param.buffered) {
      this.release(grad); // added in place into the buffered gradient
      grad = param.buffered;
    }
    param.buffered = undefined;
    if (pending > 0) {
      param.buffered = grad;
      return;
    }
    if (param.onGradient) return param.onGradient(grad, param);
    if (!param.grad) param.grad = grad;
    else this.release(grad);
    param.afterGradient?.(param);
  }

  /** loss.backward(): every recorded node from the newest (then the graph is freed with
   * freeGraph, once nothing references it); each part it reaches is named on the log. */
  backward(loss: Tensor, seed?: Storage, graph = this.graph): void {
    this.enter('backward', -1, 'loss');
    this.deliver(loss, seed ?? this.allocate(4, 'logitsAndLoss')); // torch.ones_like(loss)
    const nodes = this.graphs.get(graph) ?? [];
    let tag: NodeTag | undefined;
    for (let index = nodes.length - 1; index >= 0; index--) {
      const node = nodes[index];
      if (!hasGradient(node.pending)) continue;
      if (node.tag !== tag && node.tag) {
        tag = node.tag;
        this.enter('backward', tag.layer, tag.what);
        this.hooks.beforeBackward(tag);
      }
      this.runNode(node);
    }
    this.hooks.afterBackward();
  }

  private runNode(node: GraphNode): void {
    if (node.region && !node.region.recomputed) {
      this.savedTensorsHooks?.unpack(node.region.inputs);
      this.recompute(node.region);
    }
    this.savedTensorsHooks?.unpack(node.saved);
    const grads = node.pending;
    node.pending = [];
    const outbox = this.outbox; // empty: no node's backward runs inside another's
    outbox.open = true;
    node.backward(grads);
    outbox.open = false;
    for (const grad of grads) this.release(grad);
    for (const storage of node.saved) this.release(storage);
    if (node.saved.length > 0) node.saved = [];
    for (let i = 0; i < outbox.count; i++) {
      this.route(outbox.targets[i]!, outbox.grads[i]!);
      outbox.targets[i] = outbox.grads[i] = undefined;
    }
    outbox.count = 0;
    if (node.region && node.region.nodes[0] === node) this.endRegion(node.region);
  }

  /** A checkpointed region is done with: its kept inputs and cached outputs go. */
  private endRegion(region: CheckpointRegion): void {
    region.inputs.forEach((storage) => this.release(storage));
    region.inputs = [];
    region.selective?.release((storage) => this.release(storage));
  }

  /** The outputs of an op a selective policy may save: made by `make` in forward (and kept when
   * saved), handed back from the cache when a recompute reaches a saved op. */
  opOutputs<T extends Tensor[]>(op: PolicyOp, make: () => T): T {
    const mode = this.mode;
    const recomputing = typeof mode === 'object';
    const cache = recomputing
      ? mode.region.selective
      : mode === 'no-save'
        ? this.region?.selective
        : undefined;
    if (!cache || !cache.saves(op, recomputing ? 'recompute' : 'forward')) return make();
    if (!recomputing) {
      const outputs = make();
      cache.keep(outputs, (storage) => this.retain(storage));
      return outputs;
    }
    const kept = cache.take();
    if (!kept) return make();
    return kept.map((t) => {
      const handle = new Tensor(t.storage, t.bytes, t.rows, t.cols, t.elementBytes, t.requiresGrad);
      this.adopt(handle);
      return handle;
    }) as T;
  }

  /** The graph dies (nothing references it any more): nodes backward never reached, and
   * tensors kept as ctx attributes, are freed with it. */
  freeGraph(graph = this.graph): void {
    const nodes = this.graphs.get(graph) ?? [];
    // Indexed loops: a 405B plan frees some 10^5 nodes, and for-of here allocated iterators.
    for (let n = 0; n < nodes.length; n++) {
      const node = nodes[n];
      const { inputs, held, saved, pending } = node;
      for (let i = 0; i < inputs.length; i++) inputs[i].param?.pendingUses?.delete(graph);
      for (let i = 0; i < held.length; i++) this.release(held[i]);
      for (let i = 0; i < saved.length; i++) this.release(saved[i]);
      for (let i = 0; i < pending.length; i++) this.release(pending[i]);
      // Nodes backward reached hold nothing any more: no new empty lists for them.
      if (node.held.length > 0) node.held = NOTHING_HELD;
      if (node.saved.length > 0) node.saved = [];
      if (node.pending.length > 0) node.pending = [];
      if (node.region) this.endRegion(node.region);
    }
    this.graphs.delete(graph);
  }

  /** torch.no_grad(): ops record nothing. */
  noGrad<T>(body: () => T): T {
    const grad = this.gradEnabled;
    this.gradEnabled = false;
    const result = body();
    this.gradEnabled = grad;
    return result;
  }
}
