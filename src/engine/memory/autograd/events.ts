// The event log of one rank's timeline: every allocation and free of a tensor, with the memory
// component it belongs to and the moment of the step it happened in (phase, layer, micro-batch).
import { MemoryComponent } from '../../vocabulary';

/** Components that live inside PyTorch's caching allocator (runtimeOverhead and kvCache do not
 * appear on a training timeline). */
export const ALLOCATED_COMPONENTS = [
  'weights',
  'gradients',
  'optimizerStates',
  'masterWeights',
  'activations',
  'logitsAndLoss',
  'buffers',
] as const satisfies readonly MemoryComponent[];
export type Component = (typeof ALLOCATED_COMPONENTS)[number];
export const COMPONENT_INDEX: Record<Component, number> = Object.fromEntries(
  ALLOCATED_COMPONENTS.map((name, index) => [name, index]),
) as Record<Component, number>;

/** Where in the step an event happened; the plan names the moment of its peak this way. */
export interface Moment {
  step: number;
  phase: 'build' | 'forward' | 'backward' | 'optimizer';
  /** Decoder layer index (global), or -1 outside the layers (embedding, loss, step). */
  layer: number;
  microBatch: number;
  /** What runs: 'layer', 'loss', 'head', 'recompute', 'optimizer step', ... */
  what: string;
}

// PyTorch's caching allocator rounds every block to 512 bytes (CUDACachingAllocator.cpp
// kMinBlockSize), and torch.cuda.max_memory_allocated counts the rounded blocks.
export const BLOCK_ROUNDING = 512;

export function roundedBytes(bytes: number): number {
  return Math.max(BLOCK_ROUNDING, Math.ceil(bytes / BLOCK_ROUNDING) * BLOCK_ROUNDING);
}

/** Column-wise storage of events in typed arrays that double as they fill: cheap to append,
 * cheap to replay. */
// Initial capacity: a search probe (one step of 3 or 4 Llama layers) logs 1,000-1,700 events;
// longer timelines double it (a 70B plan's 16-layer stack, three steps: 14,378). Sized for the
// probes, which are most of the simulations a search runs: allocating 16,384 up front cost each
// probe about 9% of its time.
const INITIAL_EVENTS = 2048;

export class EventLog {
  /** +1 allocation, -1 free, 0 torch.cuda.empty_cache() (no block: key and bytes 0). */
  kind = new Int8Array(INITIAL_EVENTS);
  key = new Int32Array(INITIAL_EVENTS);
  /** Rounded block bytes. */
  bytes = new Float64Array(INITIAL_EVENTS);
  component = new Uint8Array(INITIAL_EVENTS);
  /** 0 is the compute stream; FSDP2 all-gathers and reduce-scatters on side streams. */
  stream = new Uint8Array(INITIAL_EVENTS);
  moment = new Int32Array(INITIAL_EVENTS);
  readonly moments: Moment[] = [];
  length = 0;
  /** Events a mechanism makes once in the run, not every step (DDP's bucket rebuild at the
   * second step): a step written out from the one before leaves them out (repeated-step.ts). */
  readonly onceInRun: number[] = [];

  /** Starts a new moment; later events belong to it. */
  mark(moment: Moment): void {
    this.moments.push(moment);
  }

  push(kind: 1 | -1 | 0, key: number, bytes: number, component: number, stream: number): void {
    if (this.length === this.kind.length) this.grow();
    const i = this.length++;
    this.kind[i] = kind;
    this.key[i] = key;
    this.bytes[i] = bytes;
    this.component[i] = component;
    this.stream[i] = stream;
    this.moment[i] = this.moments.length - 1;
  }

  /** Removes the last event when it allocates `key`: an allocation that never happened. */
  undoLastAllocation(key: number): boolean {
    const last = this.length - 1;
    if (last < 0 || this.kind[last] !== 1 || this.key[last] !== key) return false;
    this.length = last;
    return true;
  }

  private grow(): void {
    const size = this.kind.length * 2;
    const grown = <T extends Int8Array | Int32Array | Float64Array | Uint8Array>(a: T): T => {
      const next = new (a.constructor as new (n: number) => T)(size);
      next.set(a);
      return next;
    };
    this.kind = grown(this.kind);
    this.key = grown(this.key);
    this.bytes = grown(this.bytes);
    this.component = grown(this.component);
    this.stream = grown(this.stream);
    this.moment = grown(this.moment);
  }
}
