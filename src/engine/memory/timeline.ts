// One rank's training run as a timeline of tensor events: the model built, then optimizer steps
// of forward and backward micro-batches, each ended by the optimizer (memory-model.md section 0).
// The first step creates the optimizer states; the second is the steady state the plan reports.
import { EventLog } from './autograd/events';
import { Runtime, Tensor } from './autograd/runtime';
import { StageModel } from './model/causal-lm';
import { trainableInOrder } from './sharding';
import { createStates, OptimizerSettings, stepTemporaries, zeroGrad } from './optimizer';

export interface TrainingLoop {
  stage: StageModel;
  optimizer: OptimizerSettings;
  microBatches: number;
  /** Steps simulated: the first creates the optimizer states, later ones find them. */
  steps: number;
  /** Bytes of cuBLAS's workspace per thread (CublasHandlePool.cpp getChosenWorkspaceSize): the
   * forward's thread makes one at the first matmul, autograd's backward thread another. */
  blasWorkspaceBytes: number;
  /** The loop keeps the model's logits referenced through backward. */
  retainLogits: boolean;
}

/** Runs the loop and returns every event. */
export function trainingTimeline(runtime: Runtime, loop: TrainingLoop): EventLog {
  loop.stage.build();
  const optimized = trainableInOrder(loop.stage.model);
  for (let step = 1; step <= loop.steps; step++) {
    runtime.step = step;
    for (let microBatch = 0; microBatch < loop.microBatches; microBatch++) {
      runtime.microBatch = microBatch;
      runtime.graph = microBatch;
      microBatchStep(runtime, loop, step === 1 && microBatch === 0);
    }
    runtime.microBatch = 0;
    runtime.enter('optimizer', -1, 'optimizer step');
    if (step === 1) createStates(runtime, loop.optimizer, optimized);
    stepTemporaries(runtime, loop.optimizer, optimized);
    zeroGrad(runtime, loop.optimizer, optimized);
  }
  return runtime.log;
}

/** Forward, loss.backward(), and the graph freed once the loop lets go of the loss. */
function microBatchStep(runtime: Runtime, loop: TrainingLoop, first: boolean): void {
  if (first) {
    runtime.blasWorkspace.forward = loop.blasWorkspaceBytes;
    runtime.blasWorkspace.backward = loop.blasWorkspaceBytes;
  }
  const out = loop.stage.forward();
  const kept: Tensor[] = loop.retainLogits ? out.logits : [];
  runtime.drop(...out.logits.filter((logits) => !kept.includes(logits)));
  runtime.backward(out.output);
  runtime.drop(out.output, ...kept);
  runtime.freeGraph();
}
