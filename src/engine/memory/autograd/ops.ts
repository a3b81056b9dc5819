// The ops model code calls, as far as memory goes: what each allocates in forward, what it saves
// for backward and what its backward allocates (PyTorch's tools/autograd/derivatives.yaml and the
// kernels named beside each op). A tensor is rows x cols elements of `elementBytes` each.
import { Component } from './events';
import { columnReduceBuffers, ReduceDevice } from './reduce-buffer';
import { componentOf, Param, Runtime, Storage, Tensor } from './runtime';

export const FP32 = 4;
// torch.long indices are eight bytes an element, torch.bool masks one.
export const INT64 = 8;
export const BOOL = 1;

export class Ops {
  /** PyTorch before 1.11 saved softmax's and log_softmax's input beside the output
   * (_softmax_backward_data took the input tensor; 1.11 passes its dtype instead). */
  softmaxSavesInput = false;
  /** The device a long reduction sizes its staging buffer by (reduce-buffer.ts); without it
   * (no SM count in the catalog) the buffer is not counted. */
  reduceDevice?: ReduceDevice;

  constructor(readonly rt: Runtime) {}

  /** Reduce.cuh's staging buffer and semaphores of summing `inputsPerOutput` rows of `outputs`
   * columns, allocated after the result and freed as the launch returns. */
  private reductionStaging(outputs: number, inputsPerOutput: number): void {
    if (!this.reduceDevice) return;
    const { globalBytes, semaphoreBytes } = columnReduceBuffers(
      outputs,
      inputsPerOutput,
      this.reduceDevice,
    );
    if (globalBytes === 0) return;
    const buffer = this.rt.allocate(globalBytes, 'activations');
    const semaphores = this.rt.allocate(semaphoreBytes, 'activations');
    this.rt.release(semaphores);
    this.rt.release(buffer);
  }

  /** softmax / log_softmax over the last dimension: saves its output (and, before PyTorch
   * 1.11, its input too). */
  softmax(x: Tensor): Tensor {
    if (!this.softmaxSavesInput) return this.unarySavingOutput(x);
    const out = this.empty(x, x.requiresGrad);
    this.rt.record([x], [out], [x, out], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** A fresh tensor shaped like `like` (optionally another width or dtype). */
  empty(like: Tensor, requiresGrad: boolean, cols = like.cols, elementBytes = like.elementBytes) {
    return this.rt.tensor(like.rows, cols, elementBytes, requiresGrad, componentOf(like));
  }

  /** A gradient shaped like `like`, in its dtype (engine.cpp validate_outputs casts to it). */
  gradOf(like: Tensor, component: Component = componentOf(like)): Storage {
    return this.rt.allocate(like.bytes, like.param ? 'gradients' : component);
  }

  /** Gives `target` the gradient `grad` holds (one more reference to it). */
  pass(target: Tensor, grad: Storage | undefined): void {
    if (!grad || !target.requiresGrad) return;
    this.rt.retain(grad);
    this.rt.deliver(target, grad);
  }

  /** Hands a freshly allocated gradient on (the handle's reference moves with it). */
  give(target: Tensor, make: () => Storage): void {
    if (!target.requiresGrad) return;
    this.rt.deliver(target, make());
  }

  /** mm's input gradient reaches a 3-D input through a reshape: a view (see Runtime.route). */
  private viewGrad(grad: Storage): Storage {
    this.rt.markViewGrad(grad);
    return grad;
  }

  /** A transient buffer of a backward formula: allocated, used, freed. */
  scratch(bytes: number, component: Component = 'activations'): void {
    this.rt.release(this.rt.allocate(bytes, component));
  }

  /** x.to(dtype): a copy when the dtype changes, x itself otherwise (ToCopyBackward0). */
  to(x: Tensor, elementBytes: number): Tensor {
    if (x.elementBytes === elementBytes) return this.rt.view(x);
    const out = this.empty(x, x.requiresGrad, x.cols, elementBytes);
    this.rt.record([x], [out], [], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** a * b with broadcasting over the smaller one (mul_tensor_backward for each side). */
  mul(a: Tensor, b: Tensor): Tensor {
    const big = a.bytes / a.elementBytes >= b.bytes / b.elementBytes ? a : b;
    const out = this.empty(big, a.requiresGrad || b.requiresGrad, big.cols, promote(a, b));
    const saved = [a.requiresGrad ? b : undefined, b.requiresGrad ? a : undefined];
    // MulBackward0 computes other's gradient, then self's; engine.cpp validate_outputs then
    // sums a broadcast side to its shape and casts each to its input's dtype.
    this.rt.record([a, b], [out], saved, () => {
      const full = [b, a].map((input) =>
        input.requiresGrad ? this.fullGrad(out, input) : undefined,
      );
      this.conform(a, out, full[1]);
      this.conform(b, out, full[0]);
    });
    return out;
  }

  /** The gradient as the formula makes it: the output's shape, in the promoted dtype. */
  private fullGrad(out: Tensor, input: Tensor): Storage {
    return this.rt.allocate(out.bytes, input.param ? 'gradients' : componentOf(out));
  }

  /** validate_outputs: a gradient of another shape or dtype than its input is reduced or cast
   * into a new tensor; the formula's own one is freed. */
  private conform(input: Tensor, out: Tensor, grad: Storage | undefined): void {
    if (!grad) return;
    if (input.bytes === out.bytes && input.elementBytes === out.elementBytes) {
      return this.rt.deliver(input, grad);
    }
    const conformed = this.gradOf(input);
    // at::sum_to over the rows (a weight or bias broadcast over the tokens); a sum along the
    // last dimension (a per-row statistic) reduces within each block.
    if (input.cols === out.cols && input.rows < out.rows) {
      this.reductionStaging(input.cols * input.rows, out.rows / input.rows);
    }
    this.rt.release(grad);
    this.rt.deliver(input, conformed);
  }

  /** a + b: backward hands the same gradient to both sides (AddBackward0). */
  add(a: Tensor, b: Tensor): Tensor {
    const big = a.bytes / a.elementBytes >= b.bytes / b.elementBytes ? a : b;
    const out = this.empty(big, a.requiresGrad || b.requiresGrad, big.cols, promote(a, b));
    this.rt.record([a, b], [out], [], ([g]) => {
      for (const input of [a, b]) {
        if (!input.requiresGrad) continue;
        if (input.bytes === out.bytes && input.elementBytes === out.elementBytes)
          this.pass(input, g);
        else this.conform(input, out, (this.rt.retain(g!), g));
      }
    });
    return out;
  }

  /** x plus a tensor that needs no gradient, broadcast to rows x cols in the wider dtype
   * (UMT5's (1, heads, s, k) position bias plus the (b, 1, s, k) mask): AddBackward0 sums x's
   * gradient back to its shape. */
  addBroadcast(x: Tensor, rows: number, cols: number, otherBytes: number): Tensor {
    const bytes = Math.max(x.elementBytes, otherBytes);
    const out = this.rt.tensor(rows, cols, bytes, x.requiresGrad, componentOf(x));
    this.rt.record([x], [out], [], ([g]) => this.conform(x, out, (this.rt.retain(g!), g)));
    return out;
  }

  /** a - b, b of a's shape or one value per row (a per-row mean, broadcast): SubBackward0 hands
   * a the gradient and b its negation (a new tensor of the output's size, summed to b's shape by
   * validate_outputs where b is broadcast). */
  sub(a: Tensor, b: Tensor): Tensor {
    const out = this.empty(a, a.requiresGrad || b.requiresGrad, a.cols, promote(a, b));
    this.rt.record([a, b], [out], [], ([g]) => {
      this.pass(a, g);
      if (b.cols === out.cols || !b.requiresGrad) this.give(b, () => this.gradOf(b));
      else this.conform(b, out, this.fullGrad(out, b));
    });
    return out;
  }

  /** torch.where(mask, a, b) of one shape: WhereBackward0 keeps the mask and gives each side the
   * gradient with the other side's places zeroed (a new tensor each). */
  where(mask: Tensor, a: Tensor, b: Tensor): Tensor {
    const out = this.empty(a, a.requiresGrad || b.requiresGrad, a.cols, promote(a, b));
    this.rt.record([a, b], [out], [mask], () => {
      this.give(a, () => this.gradOf(a));
      this.give(b, () => this.gradOf(b));
    });
    return out;
  }

  /** target.add_(source), the same shape: a new version of target, nothing allocated;
   * AddBackward0 hands the gradient to both, cast to source's dtype where it is wider (UMT5's
   * fp32 bias into autocast's bf16 scores: validate_outputs). */
  addInPlace(target: Tensor, source: Tensor): Tensor {
    const out = this.rt.view(target, target.cols, target.requiresGrad || source.requiresGrad);
    this.rt.record([target, source], [out], [], ([g]) => {
      this.pass(target, g);
      if (source.elementBytes === target.elementBytes) this.pass(source, g);
      else if (source.requiresGrad) this.conform(source, out, (this.rt.retain(g!), g));
    });
    return out;
  }

  /** An op whose backward needs only its input (silu, gelu, tanh', ...; index_copy into a wider
   * tensor keeps its source): saves x, one gradient. */
  unarySavingInput(x: Tensor, cols = x.cols, elementBytes = x.elementBytes): Tensor {
    const out = this.empty(x, x.requiresGrad, cols, elementBytes);
    this.rt.record([x], [out], [x], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** An op whose backward needs only its output (rsqrt, tanh, exp, softmax): saves out. */
  unarySavingOutput(x: Tensor, elementBytes = x.elementBytes): Tensor {
    const out = this.empty(x, x.requiresGrad, x.cols, elementBytes);
    this.rt.record([x], [out], [out], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** An op whose backward needs nothing saved (neg, scalar add, cat, scale by a constant). */
  unary(x: Tensor, cols = x.cols, elementBytes = x.elementBytes): Tensor {
    const out = this.empty(x, x.requiresGrad, cols, elementBytes);
    this.rt.record([x], [out], [], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** x.pow(2): saves x; pow_backward builds 2 * x^1 and multiplies by the gradient. */
  square(x: Tensor): Tensor {
    const out = this.empty(x, x.requiresGrad, x.cols);
    this.rt.record([x], [out], [x], () => {
      if (!x.requiresGrad) return;
      const power = this.rt.allocate(x.bytes, 'activations'); // self.pow(exponent - 1)
      const scaled = this.rt.allocate(x.bytes, 'activations'); // exponent * ...
      this.rt.release(power);
      this.give(x, () => this.gradOf(x));
      this.rt.release(scaled);
    });
    return out;
  }

  /** x.mean(-1, keepdim=True): one value per row, or per group of a row (a norm over each
   * head); backward expands and divides (x-sized). */
  meanLastDim(x: Tensor, groups = 1): Tensor {
    const out = this.empty(x, x.requiresGrad, groups);
    this.rt.record([x], [out], [], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** F.linear(x, W, b) over the last dimension: mm (addmm with a bias) saves W for x's
   * gradient and x for W's. Backward runs the formulas in load_derivatives.py's sorted(name)
   * order: MmBackward0 W's (mat2) then x's (self); AddmmBackward0 x's (mat1), W's (mat2), then
   * the bias's (self: the gradient itself, summed to the bias's shape by validate_outputs). */
  linear(x: Tensor, weight: Tensor, outFeatures: number, bias?: Tensor): Tensor {
    const requiresGrad = x.requiresGrad || weight.requiresGrad || !!bias?.requiresGrad;
    // F.linear dispatches to aten.mm, or aten.addmm with a bias (selective checkpointing's ops).
    const [out] = this.rt.opOutputs(bias ? 'addmm' : 'mm', () => [
      this.empty(x, requiresGrad, outFeatures, weight.elementBytes),
    ]);
    this.rt.beforeMatmul('forward'); // the handle's workspace comes once the output exists
    const saved = [x.requiresGrad ? weight : undefined, weight.requiresGrad ? x : undefined];
    const inputs = bias ? [x, weight, bias] : [x, weight];
    this.rt.record(inputs, [out], saved, () => {
      const weightGrad = () => this.give(weight, () => this.gemmOutput(this.gradOf(weight)));
      const inputGrad = () => this.give(x, () => this.gemmOutput(this.gradOf(x)));
      if (!bias) return (weightGrad(), inputGrad());
      inputGrad();
      weightGrad();
      this.give(bias, () => {
        const grad = this.gradOf(bias);
        this.reductionStaging(outFeatures, x.rows); // the gradient summed over the tokens
        return grad;
      });
    });
    return out;
  }

  /** A backward gemm's output (W's is (x^T @ grad)^T, x's a reshape of grad @ W: views, see
   * Runtime.route); the autograd thread's cuBLAS workspace comes with its first gemm. */
  private gemmOutput(grad: Storage): Storage {
    this.rt.beforeMatmul('backward');
    return this.viewGrad(grad);
  }

  /** Columns [0, cols) of x as a view: it keeps the whole storage; its backward writes the
   * gradient into a zero tensor of the base's size (slice_backward). */
  slice(x: Tensor, cols: number): Tensor {
    const out = this.rt.view(x, cols, x.requiresGrad);
    this.rt.record([x], [out], [], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** x.chunk(n, dim=1) along the sequence: views of x; SplitBackward0 waits for every
   * chunk's gradient and concatenates them into one x-sized gradient. */
  chunkRows(x: Tensor, chunks: number): Tensor[] {
    const rows = Math.ceil(x.rows / chunks);
    const outs: Tensor[] = [];
    for (let start = 0; start < x.rows; start += rows) {
      outs.push(this.rt.rowView(x, Math.min(rows, x.rows - start)));
    }
    this.rt.record([x], outs, [], () => this.give(x, () => this.gradOf(x)));
    return outs;
  }

  /** A slice of x as a view: x[..., :rows] along the sequence, or every x[i] of a stacked
   * parameter taken in turn (rows = all of them: JetMoeParallelExperts' self.weight[i]).
   * SliceBackward0 and SelectBackward0 write the gradient into zeros of x's whole size
   * (slice_backward, select_backward; a select's slices summed in place), so x's gradient is a
   * fresh whole-size tensor. */
  sliceRows(x: Tensor, rows = x.rows): Tensor {
    const out = this.rt.rowView(x, rows);
    this.rt.record([x], [out], [], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** x.split(width, dim=-1) into `parts` equal views of the columns, or views of the widths
   * given (split_with_sizes); SplitBackward0 waits for every part's gradient and concatenates
   * them into one x-sized gradient. */
  split(x: Tensor, parts: number | number[]): Tensor[] {
    const widths =
      typeof parts === 'number' ? new Array<number>(parts).fill(x.cols / parts) : parts;
    const outs = widths.map((cols) => this.rt.view(x, cols, x.requiresGrad));
    this.rt.record([x], outs, [], () => this.give(x, () => this.gradOf(x)));
    return outs;
  }

  /** x[indices] along the rows: a copy of `rows` rows; IndexBackward0 keeps the index tensor
   * where one is given and scatters the gradient into a zero tensor of x's full size
   * (index_put_). */
  gatherRows(x: Tensor, rows: number, cols = x.cols, index?: Tensor): Tensor {
    const out = this.rt.tensor(rows, cols, x.elementBytes, x.requiresGrad, componentOf(x));
    this.rt.record([x], [out], [index], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** torch.gather(x, -1, index): `cols` of x's columns picked per row. GatherBackward0 keeps x
   * itself (derivatives.yaml: gather_backward(grad, self, dim, index, sparse_grad) takes the
   * tensor) and the index, and scatters the gradient into zeros of x's size. */
  gather(x: Tensor, index: Tensor, cols: number): Tensor {
    const out = this.empty(x, x.requiresGrad, cols);
    this.rt.record([x], [out], [x, index], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** A new tensor of x's elements `times` over along the rows (x.repeat(n, 1, 1)), one copy per
   * sequence of the batch: an activation whatever x is made from; RepeatBackward0 sums the
   * gradient back to x's size. */
  repeatRows(x: Tensor, times: number): Tensor {
    const out = this.rt.tensor(x.rows * times, x.cols, x.elementBytes, x.requiresGrad);
    this.rt.record([x], [out], [], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** x.masked_fill(mask, 0), out of place: a copy; MaskedFillBackward0 saves the mask and gives
   * x grad.masked_fill(mask, 0), a copy too. */
  maskedFill(x: Tensor, mask: Tensor): Tensor {
    const out = this.empty(x, x.requiresGrad);
    this.rt.record([x], [out], [mask], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** x.masked_fill_(mask, 0), in place: a new version of x, nothing allocated;
   * MaskedFillBackward0 saves the mask and gives x grad.masked_fill(mask, 0), a copy. */
  maskedFillInPlace(x: Tensor, mask: Tensor): Tensor {
    const out = this.rt.view(x, x.cols, x.requiresGrad);
    this.rt.record([x], [out], [mask], () => this.give(x, () => this.gradOf(x)));
    return out;
  }

  /** x.view(rows, k, cols).sum(dim=1): `rows` rows; SumBackward0 expands the gradient back
   * (a view, no copy). */
  sumRows(x: Tensor, rows: number): Tensor {
    const out = this.rt.tensor(rows, x.cols, x.elementBytes, x.requiresGrad, componentOf(x));
    this.rt.record([x], [out], [], ([g]) => this.pass(x, g));
    return out;
  }

  /** torch.topk(x, k) along the last dimension: the k values (and int64 indices, saved);
   * TopkBackward0 scatters the values' gradient into a zero tensor of x's size. */
  topk(x: Tensor, k: number): Tensor {
    const out = this.empty(x, x.requiresGrad, k);
    const indices = this.rt.tensor(x.rows, k, 8, false, componentOf(x));
    this.rt.record([x], [out], [indices], () => this.give(x, () => this.gradOf(x)));
    this.rt.drop(indices);
    return out;
  }

  /** target.index_add_(0, indices, source): in place on `target`; backward hands target its
   * gradient through and gives source grad.index_select (a source-sized copy). */
  indexAdd(target: Tensor, source: Tensor): Tensor {
    const out = this.rt.view(target, target.cols, target.requiresGrad || source.requiresGrad);
    this.rt.record([target, source], [out], [], ([g]) => {
      this.pass(target, g);
      this.give(source, () => this.gradOf(source));
    });
    return out;
  }

  /** target[indices] = values, in place on `target` (index_put_): IndexPutBackward0 keeps the
   * indices, gives target grad.index_put(indices, 0) (a target-sized copy) and values
   * grad[indices] (a values-sized copy). */
  indexPut(target: Tensor, values: Tensor, indices: Tensor): Tensor {
    const out = this.rt.view(target, target.cols, target.requiresGrad || values.requiresGrad);
    this.rt.record([target, values], [out], [indices], () => {
      this.give(target, () => this.gradOf(target));
      this.give(values, () => this.gradOf(values));
    });
    return out;
  }

  /** A view with the same elements (reshape, transpose, expand-free split): no allocation. */
  alias(x: Tensor, cols = x.cols): Tensor {
    const out = this.rt.view(x, cols, x.requiresGrad);
    this.rt.record([x], [out], [], ([g]) => this.pass(x, g));
    return out;
  }

  /** x.view(-1, cols) of a contiguous x: the same storage in rows `cols` wide; ViewBackward
   * hands the gradient back as a view of itself. */
  reshape(x: Tensor, cols: number): Tensor {
    const out = this.rt.rowView(x, (x.rows * x.cols) / cols, cols);
    this.rt.record([x], [out], [], ([g]) => this.pass(x, g));
    return out;
  }

  /** torch.cat along the last dimension: a new tensor; backward hands out views of its grad. */
  cat(parts: Tensor[]): Tensor {
    const cols = parts.reduce((sum, p) => sum + p.cols, 0);
    const out = this.empty(
      parts[0],
      parts.some((p) => p.requiresGrad),
      cols,
    );
    this.rt.record(parts, [out], [], ([g]) => parts.forEach((p) => this.pass(p, g)));
    return out;
  }

  /** torch.cat along the sequence (rows): a new tensor; backward hands out views of its grad. */
  catRows(parts: Tensor[]): Tensor {
    const rows = parts.reduce((sum, p) => sum + p.rows, 0);
    const out = this.rt.tensor(
      rows,
      parts[0].cols,
      parts[0].elementBytes,
      parts.some((p) => p.requiresGrad),
      componentOf(parts[0]),
    );
    this.rt.record(parts, [out], [], ([g]) => parts.forEach((p) => this.pass(p, g)));
    return out;
  }

  /** dropout(p > 0): the output and a one-byte mask, saved for backward (native_dropout). */
  dropout(x: Tensor): Tensor {
    const out = this.empty(x, x.requiresGrad);
    const mask = this.rt.tensor(x.rows, x.cols, 1, false, componentOf(x));
    this.rt.record([x], [out], [mask], () => this.give(x, () => this.gradOf(x)));
    this.rt.drop(mask);
    return out;
  }

  /** nn.Embedding: the rows looked up; backward scatters into a full-size weight gradient
   * (embedding_dense_backward). */
  embedding(tokens: number, weight: Tensor, hidden: number): Tensor {
    const out = this.rt.tensor(tokens, hidden, weight.elementBytes, weight.requiresGrad);
    this.rt.record([weight], [out], [], () => this.give(weight, () => this.gradOf(weight)));
    return out;
  }

  /** A convolution giving `cols`-wide rows, one per input row (a patch embedding whose stride
   * is its kernel, a same-padded nn.Conv1d: DeBERTa-v2's ConvLayer) or `rows` of them (a
   * strided one: Whisper's conv2). convolution_backward keeps the input for the weight's
   * gradient and the weight for the input's, each where the other needs one; the bias's
   * gradient sums the output's. */
  convolution(
    input: Tensor,
    weight: Tensor,
    cols: number,
    bias?: Tensor,
    rows = input.rows,
  ): Tensor {
    const inputs = bias ? [input, weight, bias] : [input, weight];
    const requiresGrad = inputs.some((t) => t.requiresGrad);
    const out = this.rt.tensor(rows, cols, input.elementBytes, requiresGrad);
    const saved = [
      weight.requiresGrad ? input : undefined,
      input.requiresGrad ? weight : undefined,
    ];
    this.rt.record(inputs, [out], saved, () =>
      inputs.forEach((t) => this.give(t, () => this.gradOf(t))),
    );
    return out;
  }

  /** A parameter as an op input: no allocation, it is the model's own tensor. */
  weight(param: Param, rows: number, cols: number): Tensor {
    const gathered = param.gathered;
    if (gathered?.storage.resident) {
      return this.rt.paramHandle(param, gathered.storage, rows, cols, gathered.bytes);
    }
    return this.rt.paramHandle(param, param.storage!, rows, cols, param.storedBytes);
  }

  /** A parameter expanded over `rows` as a forward's input (Idefics2's latents
   * `self.latents.unsqueeze(0).expand(...)`): a view of it whose products are activations (they
   * grow with the batch); the gradient handed to it is planned at the expanded size, which
   * ExpandBackward0 then sums to the parameter's. */
  paramInput(param: Param, rows: number, cols: number): Tensor {
    const view = this.weight(param, rows, cols);
    view.madeIn = 'activations';
    return view;
  }
}

/** Type promotion of a binary op: the wider floating dtype wins. */
function promote(a: Tensor, b: Tensor): number {
  return Math.max(a.elementBytes, b.elementBytes);
}
