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

/** Column-wise storage of events: cheap to append, cheap to replay. */
export class EventLog {
  /** +1 allocation, -1 free. */
  readonly kind: number[] = [];
  readonly key: number[] = [];
  /** Rounded block bytes. */
  readonly bytes: number[] = [];
  readonly component: number[] = [];
  /** 0 is the compute stream; FSDP and DDP communicate on side streams. */
  readonly stream: number[] = [];
  readonly moment: number[] = [];
  readonly moments: Moment[] = [];

  get length(): number {
    return this.kind.length;
  }

  /** Starts a new moment; later events belong to it. */
  mark(moment: Moment): void {
    this.moments.push(moment);
  }

  push(kind: 1 | -1, key: number, bytes: number, component: number, stream: number): void {
    this.kind.push(kind);
    this.key.push(key);
    this.bytes.push(bytes);
    this.component.push(component);
    this.stream.push(stream);
    this.moment.push(this.moments.length - 1);
  }
}
