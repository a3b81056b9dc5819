// Where data-parallel wrappers step in: around each module's forward, when backward reaches a
// part of the model, as gradients arrive, and when backward is over (the hooks FSDP and DDP
// register on modules, tensors and the autograd engine).
import { NodeTag } from './runtime';

/** A module of the stage as hooks see it: the root, the embedding, a vision-language model's
 * image tower, a layer, the head. */
export type ModuleName = 'root' | 'embedding' | 'vision' | 'head' | `layer:${number}`;

export interface ModuleHooks {
  beforeForward?(module: ModuleName): void;
  afterForward?(module: ModuleName): void;
  /** Backward reaches the nodes of `tag` (a layer, the loss and head, the embedding). */
  beforeBackward?(tag: NodeTag): void;
  /** loss.backward() returns (FSDP's and DDP's final callbacks). */
  afterBackward?(): void;
}

/** Calls each hook in turn. */
export class HookList implements Required<ModuleHooks> {
  constructor(private readonly hooks: ModuleHooks[] = []) {}

  add(hooks: ModuleHooks): void {
    this.hooks.push(hooks);
  }

  beforeForward(module: ModuleName): void {
    this.hooks.forEach((h) => h.beforeForward?.(module));
  }

  afterForward(module: ModuleName): void {
    this.hooks.forEach((h) => h.afterForward?.(module));
  }

  beforeBackward(tag: NodeTag): void {
    this.hooks.forEach((h) => h.beforeBackward?.(tag));
  }

  afterBackward(): void {
    this.hooks.forEach((h) => h.afterBackward?.());
  }
}
