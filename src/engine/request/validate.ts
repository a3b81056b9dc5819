// Cross-field checks: a request whose layout cannot exist gets field errors a user can act on.
import { architectureLimitErrors } from '../model/limits';
import { sequenceLimit } from '../model/positions';
import {
  defaultLoraTargets,
  litgptRunsLayers,
  modulePath,
  targetNames,
} from '../model/lora-modules';
import { linearShapes, loraEnds } from '../model/parameters';
import { visionTargetNames } from '../model/vision';
import { headLinearTargets, loraEndTargets } from '../model/heads';
import {
  pipelinable,
  PipelineSplitError,
  tensorParallelizable,
  virtualStageSpans,
} from '../model/placement';
import { layoutOf } from './layout';
import { DEFAULT_INFERENCE } from './normalize';
import { attentionPlan, layerRecipe } from '../memory/recipes';
import { AttentionKernelRun } from '../memory/recipes/attention-kernel';
import { engineReach } from '../memory/sharding/engine';
import { attendsLayer, hasCrossAttention, layerMixer, MIXER_CODES } from '../model/layers';
import { MAX_GPUS } from './limits';
import { preferenceErrors } from './preference';
import { FieldError, GpuSpec, ModelArchitecture, PlanRequest, SsmConfig } from '../vocabulary';

function sameList(a: readonly string[] | 'all-linear', b: readonly string[] | 'all-linear') {
  return Array.isArray(a) && Array.isArray(b) && a.join() === b.join();
}

function positiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

/** Errors that make a request impossible to plan; empty when it can be planned. */
export function validateRequest(
  request: PlanRequest,
  arch: ModelArchitecture,
  gpu: GpuSpec,
): FieldError[] {
  // The model's shape bounds what every later check and the plan itself cost.
  const modelErrors = architectureLimitErrors(arch, 'model');
  if (modelErrors.length > 0) return modelErrors;
  const rangeErrors = integerFieldErrors(request);
  if (rangeErrors.length === 0) rangeErrors.push(...clusterSizeErrors(request));
  if (rangeErrors.length > 0) return rangeErrors;
  return [
    ...tensorParallelErrors(request, arch),
    ...clusterShapeErrors(request),
    ...pipelineDepthErrors(request, arch),
    ...pipelineSplitErrors(request, arch),
    ...contextParallelErrors(request),
    ...contextParallelKernelErrors(request, arch),
    ...contextParallelMixerErrors(request, arch),
    ...expertParallelErrors(request, arch),
    ...replicateDegreeErrors(request),
    ...optimizerInBackwardErrors(request),
    ...fp8Errors(request, gpu),
    ...offloadErrors(request),
    ...engineReachErrors(request),
    ...loraErrors(request, arch),
    ...preferenceErrors(request, arch),
    ...runtimeErrors(request, gpu),
    ...sequenceLimitErrors(request, arch),
    ...imageWidthErrors(request, arch),
    ...imageTokenErrors(request, arch),
  ];
}

/** Image tokens take positions of the text sequence (masked_scatter over the image placeholder
 * tokens the processor puts in each sample); Mllama's go to its cross-attention layers instead. */
function imageTokenErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const tower = arch.vision;
  const images = request.training.imagesPerSample ?? 0;
  if (!tower || images <= 0 || hasCrossAttention(arch)) return [];
  const positions = images * tower.tokensPerImage;
  const length = request.training.sequenceLength;
  if (positions <= length) return [];
  return [
    {
      field: 'training.imagesPerSample',
      message: `${images} image(s) of ${tower.tokensPerImage} tokens take ${positions} positions of a sample, more than training.sequenceLength (${length}): give a longer sequence or fewer images per sample`,
    },
  ];
}

/** Image tokens join the text stack at its width (masked_scatter into inputs_embeds, Qwen3-VL's
 * deepstack adds, Mllama's cross-attention states): a tower whose projector or deepstack mergers
 * end at another width cannot run its images, whatever its parameters count. */
function imageWidthErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const tower = arch.vision;
  if (!tower || !((request.training.imagesPerSample ?? 0) > 0)) return [];
  const widths = [
    tower.projector[tower.projector.length - 1]?.outFeatures,
    ...(tower.deepstack ?? []).map((merger) => merger.outFeatures),
  ].filter((width): width is number => width !== undefined);
  const other = widths.find((width) => width !== arch.hiddenSize);
  if (other === undefined) return [];
  return [
    {
      field: 'training.imagesPerSample',
      message: `the image encoder's tokens are ${other} wide but the text stack's are ${arch.hiddenSize}: the model cannot run images; give the checkpoint's vision_config (its out_hidden_size is the text hidden_size), or 0 images per sample`,
    },
  ];
}

/** A model whose code fixes the sequence's length (a learned position table, MPT's ALiBi) trains
 * and serves no more tokens than that: a longer sequence fails (RoPE, BLOOM's ALiBi and relative
 * positions run past max_position_embeddings, with a warning). A served sequence holds its
 * prompt and every token generated after it. */
function sequenceLimitErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const limit = sequenceLimit(arch);
  if (!limit) return [];
  const exceeds = (what: string, tokens: number) =>
    `${what} (${tokens}) exceeds the ${limit.what} in ${arch.id}'s model code (the run fails)`;
  if (request.workload === 'inference') {
    const { promptLength, outputLength } = request.inference ?? DEFAULT_INFERENCE;
    const context = promptLength + outputLength;
    if (context <= limit.tokens) return [];
    const [field, advice] = servedLengthAdvice(promptLength, outputLength, limit.tokens);
    const message = `${exceeds('promptLength + outputLength', context)}; ${advice}`;
    return [{ field: `inference.${field}`, message }];
  }
  const tokens = request.training.sequenceLength;
  if (tokens <= limit.tokens) return [];
  return [
    {
      field: 'training.sequenceLength',
      message: `${exceeds('sequenceLength', tokens)}; use at most ${limit.tokens}`,
    },
  ];
}

/** Which served length to change, and how: an output that alone reaches the limit, else a
 * prompt that does, else the output that overruns what the prompt leaves. */
function servedLengthAdvice(prompt: number, output: number, limit: number): [string, string] {
  if (output >= limit) return ['outputLength', `generate fewer than ${limit} tokens`];
  if (prompt >= limit) return ['promptLength', `use a prompt under ${limit} tokens`];
  return [
    'outputLength',
    `generate at most ${limit - prompt} tokens after a ${prompt}-token prompt, or shorten the prompt`,
  ];
}

/** Every count in the request must be a positive integer and zeroStage one of DeepSpeed's stages. */
function integerFieldErrors(request: PlanRequest): FieldError[] {
  const { cluster, training, parallelism } = request;
  const errors: FieldError[] = [];
  for (const [field, value] of [
    ['cluster.nodes', cluster.nodes],
    ['cluster.gpusPerNode', cluster.gpusPerNode],
    ['training.microBatchSize', training.microBatchSize],
    ['training.sequenceLength', training.sequenceLength],
    ['training.gradientAccumulationSteps', training.gradientAccumulationSteps],
    ['parallelism.tensorParallel', parallelism.tensorParallel],
    ['parallelism.pipelineParallel', parallelism.pipelineParallel],
    ['parallelism.contextParallel', parallelism.contextParallel],
    ['parallelism.expertParallel', parallelism.expertParallel],
    ['parallelism.virtualStages', parallelism.virtualStages],
    ['parallelism.replicateDegree', parallelism.replicateDegree],
  ] as const) {
    if (!positiveInteger(value))
      errors.push({
        field,
        message: `${field.split('.')[1]} (${value}) must be a positive integer`,
      });
  }
  if (![0, 1, 2, 3].includes(parallelism.zeroStage)) {
    errors.push({
      field: 'parallelism.zeroStage',
      message: `zeroStage (${parallelism.zeroStage}) must be 0, 1, 2 or 3`,
    });
  }
  return errors;
}

/** The cluster may hold at most MAX_GPUS GPUs, which bounds the work a plan costs. */
function clusterSizeErrors(request: PlanRequest): FieldError[] {
  const { cluster } = request;
  if (cluster.nodes * cluster.gpusPerNode <= MAX_GPUS) return [];
  return [
    {
      field: 'cluster',
      message: `nodes x gpusPerNode (${cluster.nodes * cluster.gpusPerNode}) must be at most ${MAX_GPUS} GPUs in all`,
    },
  ];
}

/** A Mamba mixer under tensor parallelism scans each rank's share of d_inner: whole heads and
 * whole groups of them on each rank (Megatron-Core ssm/mamba_mixer.py asserts d_inner, nheads
 * and ngroups divisible by the tensor-parallel size); Mamba-1 splits d_inner alone. */
function mambaTensorParallelErrors(ssm: SsmConfig | undefined, t: number): FieldError[] {
  if (!ssm || t === 1) return [];
  const field = 'parallelism.tensorParallel';
  const parts: [string, number][] =
    ssm.version === 2
      ? [
          ['heads', ssm.heads],
          ['groups (B and C are shared by a group of heads)', ssm.groups],
        ]
      : [['d_inner', ssm.innerSize]];
  return parts
    .filter(([, count]) => count % t !== 0)
    .map(([what, count]) => ({
      field,
      message: `tensorParallel (${t}) must divide the Mamba mixer's ${what} (${count}): each rank scans whole ones`,
    }));
}

/** Tensor parallelism splits attention heads and stays inside one node. */
function tensorParallelErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const errors: FieldError[] = [];
  const { cluster } = request;
  const t = request.parallelism.tensorParallel;
  const a = arch.numAttentionHeads;
  const g = arch.numKeyValueHeads;
  const field = 'parallelism.tensorParallel';
  if (a % t !== 0) {
    errors.push({ field, message: `tensorParallel (${t}) must divide num_attention_heads (${a})` });
  } else if (g % t !== 0 && t % g !== 0) {
    errors.push({
      field,
      message: `tensorParallel (${t}) must divide num_key_value_heads (${g}) or be a multiple of it (K/V heads are replicated)`,
    });
  }
  // serving engines replicate a Mamba-2 mixer's groups across ranks (vLLM's MambaMixer2)
  if (request.workload !== 'inference') errors.push(...mambaTensorParallelErrors(arch.ssm, t));
  const delta = arch.gatedDelta;
  if (delta && delta.keyHeads % t !== 0) {
    errors.push({
      field,
      message: `tensorParallel (${t}) must divide linear_num_key_heads (${delta.keyHeads}): each rank runs whole Gated DeltaNet heads`,
    });
  }
  if (t > cluster.gpusPerNode) {
    errors.push({
      field,
      message: `tensorParallel (${t}) must not exceed gpusPerNode (${cluster.gpusPerNode}): tensor parallelism belongs inside a node`,
    });
  }
  if (t > 1 && !tensorParallelizable(arch)) {
    const what = arch.embeddingWidth
      ? `a model whose embedding is projected to its hidden size (${arch.id ?? arch.name}'s project_in and project_out)`
      : arch.encoder?.audio
        ? `Whisper's audio encoder (${arch.id ?? arch.name}: WhisperModel has no tensor-parallel plan)`
        : `DeBERTa's relative position scores (${arch.id ?? arch.name})`;
    const shard = `zeroStage 3${pipelinable(arch) ? ' or pipelineParallel' : ''}`;
    errors.push({
      field,
      message: `tensorParallel (${t}) is not planned for ${what}: ${withoutSplit(request, shard)}`,
    });
  }
  return errors;
}

/** What to do instead of a model split the plan does not hold: training shards the model
 * states (`shard`); a serving replica keeps the whole model, and more replicas serve more. */
function withoutSplit(request: PlanRequest, shard: string): string {
  return request.workload === 'inference'
    ? 'use 1, and serve on more replicas (each GPU holds the whole model)'
    : `use 1, and shard with ${shard}`;
}

/** The GPUs must split evenly into tensor x pipeline x context groups. */
function clusterShapeErrors(request: PlanRequest): FieldError[] {
  const { tensorParallel: t, pipelineParallel: p, contextParallel: c } = request.parallelism;
  const gpus = request.cluster.nodes * request.cluster.gpusPerNode;
  if (gpus % (t * p * c) === 0) return [];
  return [
    {
      field: 'cluster',
      message: `nodes x gpusPerNode (${gpus}) must be a multiple of tensorParallel x pipelineParallel x contextParallel (${t * p * c})`,
    },
  ];
}

/** Every pipeline stage needs a layer, and virtual stages need the interleaved schedule. */
function pipelineDepthErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const errors: FieldError[] = [];
  const { parallelism } = request;
  const p = parallelism.pipelineParallel;
  if (p > arch.numLayers) {
    errors.push({
      field: 'parallelism.pipelineParallel',
      message: `pipelineParallel (${p}) must not exceed num_hidden_layers (${arch.numLayers})`,
    });
  }
  if (p > 1 && !pipelinable(arch)) {
    errors.push({
      field: 'parallelism.pipelineParallel',
      message: arch.encoder
        ? `pipelineParallel (${p}) is not planned for an encoder-decoder model (${arch.id ?? arch.name}): ${withoutSplit(request, tensorParallelizable(arch) ? 'zeroStage 3 or tensorParallel' : 'zeroStage 3')}`
        : `pipelineParallel (${p}) is not planned for DeBERTa's relative position scores (${arch.id ?? arch.name}: every layer reads the positions its encoder builds once): ${withoutSplit(request, 'zeroStage 3')}`,
    });
  }
  const v = parallelism.virtualStages;
  if (v > 1 && parallelism.pipelineSchedule !== 'interleaved') {
    errors.push({
      field: 'parallelism.virtualStages',
      message: `virtualStages (${v}) > 1 needs pipelineSchedule 'interleaved'`,
    });
  }
  return errors;
}

/** Context parallelism gives each rank an equal slice of the sequence. */
function contextParallelErrors(request: PlanRequest): FieldError[] {
  const c = request.parallelism.contextParallel;
  const { sequenceLength } = request.training;
  if (sequenceLength % c === 0) return [];
  return [
    {
      field: 'parallelism.contextParallel',
      message: `contextParallel (${c}) must divide sequenceLength (${sequenceLength})`,
    },
  ];
}

// What keeps torch.distributed.tensor.experimental context_parallel from a layer's attention:
// it replaces SDPA's fused kernels only, and its ring memory-efficient attention raises
// NotImplementedError("attn_bias is not supported yet") for a mask (_attention.py
// _scaled_dot_product_ring_efficient_attention).
const RING_REFUSALS: Record<Exclude<AttentionKernelRun, 'flash'>, string> = {
  eager: 'attention its model code writes out (eager)',
  math: "SDPA's math kernel",
  efficient:
    "SDPA's memory-efficient kernel with a mask (a sliding window shorter than the rank's slice of the sequence), whose bias the ring kernel does not take",
};

/** Context parallelism runs ring attention where SDPA's fused kernels ran: PyTorch's
 * context_parallel (torchtitan's CP) dispatches scaled_dot_product_attention's flash, efficient
 * and cuDNN ops to their ring versions. Attention the model code writes out (eager), or that
 * SDPA leaves to its math kernel (matmuls), never reaches them, and each rank would attend to
 * its own slice of the keys alone. */
function contextParallelKernelErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const c = request.parallelism.contextParallel;
  if (c === 1) return [];
  const plan = attentionPlan(layerRecipe(arch, request), arch, request, c);
  for (let layer = 0; layer < arch.numLayers; layer++) {
    if (!attendsLayer(arch, layer)) continue;
    const { kernel } = plan.attentionFor(layer);
    if (kernel === 'flash') continue;
    const runs = RING_REFUSALS[kernel];
    return [
      {
        field: 'parallelism.contextParallel',
        message: `contextParallel (${c}) needs a fused SDPA kernel for ring attention to replace, and layer ${layer} runs ${runs}: use 1, or an attention the model code runs through SDPA's flash kernel`,
      },
    ];
  }
  return [];
}

/** Context parallelism splits the sequence over ranks and replaces only attention
 * (context_parallel shards the buffers and dispatches SDPA's kernels to ring attention): a
 * state-space scan or a causal convolution would run over its rank's slice alone, without
 * what the earlier slices carry, and the model would compute something else. */
function contextParallelMixerErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const c = request.parallelism.contextParallel;
  if (c === 1) return [];
  if (arch.encoder?.audio)
    return [
      {
        field: 'parallelism.contextParallel',
        message: `contextParallel (${c}) splits the text's sequence, and Whisper's encoder runs its ${arch.encoder.audio.frames} frames whole beside it: use 1`,
      },
    ];
  for (let layer = 0; layer < arch.numLayers; layer++) {
    const carried = MIXER_CODES[layerMixer(arch, layer)]?.carries;
    if (!carried) continue;
    return [
      {
        field: 'parallelism.contextParallel',
        message: `contextParallel (${c}) splits the sequence across ranks, and layer ${layer} needs ${carried} from the ranks before: use 1`,
      },
    ];
  }
  return [];
}

/** Expert parallelism needs experts to split, evenly, over the data x context ranks. */
function expertParallelErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const e = request.parallelism.expertParallel;
  const c = request.parallelism.contextParallel;
  const { dataParallel } = layoutOf(request); // not an integer when the cluster does not split
  const field = 'parallelism.expertParallel';
  if (e <= 1) return [];
  if (!arch.moe) {
    return [
      {
        field,
        message: `expertParallel (${e}) needs a mixture-of-experts model; ${arch.id} is dense`,
      },
    ];
  }
  if (arch.moe.numExperts % e !== 0) {
    return [
      {
        field,
        message: `expertParallel (${e}) must divide the number of experts (${arch.moe.numExperts})`,
      },
    ];
  }
  if (Number.isInteger(dataParallel) && (dataParallel * c) % e !== 0) {
    return [
      {
        field,
        message: `expertParallel (${e}) must divide dataParallel x contextParallel (${dataParallel * c})`,
      },
    ];
  }
  return [];
}

/** HSDP replicates over replicateDegree groups and shards over the rest of the data x context ranks. */
function replicateDegreeErrors(request: PlanRequest): FieldError[] {
  const { replicateDegree, contextParallel } = request.parallelism;
  const { dataParallel } = layoutOf(request); // not an integer when the cluster does not split
  const shardGroup = dataParallel * contextParallel;
  if (!Number.isInteger(dataParallel) || shardGroup % replicateDegree === 0) return [];
  return [
    {
      field: 'parallelism.replicateDegree',
      message: `replicateDegree (${replicateDegree}) must divide dataParallel x contextParallel (${shardGroup}): HSDP shards over the rest`,
    },
  ];
}

/** Parameters offloaded to the host must be sharded, which only ZeRO-3 does. */
function offloadErrors(request: PlanRequest): FieldError[] {
  const { parallelism } = request;
  if (parallelism.offload.parameters !== 'cpu' || parallelism.zeroStage === 3) return [];
  return [
    {
      field: 'parallelism.offload.parameters',
      message: "parameter offload to 'cpu' needs zeroStage 3",
    },
  ];
}

/** What the data-parallel engine does not do (sharding/engine.ts engineReach): planned as that
 * engine, a Megatron request at ZeRO-2/3 or offloaded kept every weight and gradient on each rank
 * while the plan's own model states and host figures said sharded or offloaded. */
function engineReachErrors(request: PlanRequest): FieldError[] {
  const { parallelism, runtime } = request;
  const engine = runtime.dataParallelEngine;
  const { maxZeroStage, offloads } = engineReach(engine);
  const errors: FieldError[] = [];
  const other = "or another dataParallelEngine (the 'deepspeed' or 'torchtitan' preset)";
  if (parallelism.zeroStage > maxZeroStage) {
    errors.push({
      field: 'parallelism.zeroStage',
      message: `the ${engine} engine shards as far as ZeRO-${maxZeroStage}: use zeroStage 0 to ${maxZeroStage}, ${other} for ZeRO-${parallelism.zeroStage}`,
    });
  }
  for (const part of ['optimizer', 'parameters'] as const) {
    if (offloads || parallelism.offload[part] === 'none') continue;
    errors.push({
      field: `parallelism.offload.${part}`,
      message: `the ${engine} engine is planned without offloading: set offload.${part} to 'none', ${other}`,
    });
  }
  return errors;
}

/** A LoRA adapter needs a positive rank, a dropout below 1 and target modules the model has. */
function loraErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const { training } = request;
  if (training.method === 'full' || !training.lora) return [];
  const { lora } = training;
  const errors: FieldError[] = [];
  if (!positiveInteger(lora.rank))
    errors.push({
      field: 'training.lora.rank',
      message: `rank (${lora.rank}) must be a positive integer, e.g. 16`,
    });
  if (!(lora.dropout >= 0 && lora.dropout < 1))
    errors.push({ field: 'training.lora.dropout', message: 'dropout must be in [0, 1)' });
  errors.push(...doraErrors(request, arch));
  if (lora.targetModules === 'all-linear') return errors;
  // A *ForSequenceClassification model has its classifier where a language model has lm_head.
  const ends = loraEndTargets(arch);
  const known = new Set<string>([...ends.head, ...ends.embedding]);
  if (arch.embeddingWidth) ['project_in', 'project_out'].forEach((name) => known.add(name));
  headLinearTargets(arch).forEach((name) => known.add(name));
  if (arch.vision) visionTargetNames(arch.vision).forEach((name) => known.add(name));
  // PEFT (Hugging Face's model code) matches the model's own module names only.
  const sharedNames = request.runtime.modelCode !== 'hf-transformers';
  const litgptParts = litgptRunsLayers(arch, request);
  for (let layer = 0; layer < arch.numLayers; layer++) {
    const shapes = linearShapes(arch, layer);
    for (const name of targetNames(arch, shapes, sharedNames, litgptParts)) known.add(name);
  }
  const unknown = lora.targetModules.filter((m) => !known.has(m));
  if (unknown.length > 0 || lora.targetModules.length === 0) {
    // PEFT has no default targets for such a model either (lora/model.py: "Please specify
    // `target_modules`"): say that the unknown names were the default, not the user's.
    const byDefault = sameList(lora.targetModules, defaultLoraTargets(arch, litgptParts))
      ? ` (the default, ${litgptParts ? "litgpt's lora_query and lora_value" : "PEFT's for Llama-style models"}, used when none are given)`
      : '';
    const which =
      lora.targetModules.length === 0
        ? `no target modules given, and PEFT has no default ones for ${arch.id}`
        : `unknown target module(s) ${unknown.join(', ')}${byDefault} for ${arch.id}${renamedNote(arch, unknown)}`;
    errors.push({
      field: 'training.lora.targetModules',
      message: `${which}; use 'all-linear' or some of: ${[...known].join(', ')}`,
    });
  }
  return errors;
}

/** Where PEFT would miss a shared name the model's code renames: the module that holds it. */
function renamedNote(arch: ModelArchitecture, unknown: string[]): string {
  const held = unknown.flatMap((name) => {
    const path = modulePath(arch, name);
    return path ? [`${name} is in ${path}`] : [];
  });
  if (held.length === 0) return '';
  return ` (Hugging Face's code names its modules otherwise and PEFT matches those: ${held.join(', ')})`;
}

/** DoRA runs where its module exists: PEFT's and torchtune's linears; not litgpt's, and not
 * PEFT's DoraEmbeddingLayer, which the planner does not model. */
function doraErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const lora = request.training.lora;
  if (!lora?.useDora) return [];
  if (request.runtime.modelCode === 'litgpt')
    return [
      {
        field: 'training.lora.useDora',
        message:
          "litgpt's LoRA layers have no DoRA; set useDora to false, or plan PEFT's DoRA with runtime.preset 'hf-transformers' or torchtune's with 'torchtune'",
      },
    ];
  if (loraEnds(arch, lora).embedding)
    return [
      {
        field: 'training.lora.useDora',
        message:
          "DoRA on the token embedding (PEFT's DoraEmbeddingLayer) is not planned; leave embed_tokens out of targetModules or set useDora to false",
      },
    ];
  return [];
}

/** The runtime's tuning figures must lie in their meaningful ranges. */
function runtimeErrors(request: PlanRequest, gpu: GpuSpec): FieldError[] {
  const { runtime } = request;
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (!(runtime.moeCapacityFactor >= 0))
    fail('runtime.moeCapacityFactor', 'moeCapacityFactor must be 0 (dropless) or more, e.g. 1.25');
  if (!(runtime.moeRoutingImbalance >= 1))
    fail(
      'runtime.moeRoutingImbalance',
      'moeRoutingImbalance is the busiest expert over the mean: 1 or more, e.g. 1.5',
    );
  if (!(runtime.mfu > 0 && runtime.mfu <= 1))
    fail('runtime.mfu', `mfu (${runtime.mfu}) must be in (0, 1], e.g. 0.4`);
  if (!(runtime.allocatorFragmentation >= 0 && runtime.allocatorFragmentation < 1)) {
    fail('runtime.allocatorFragmentation', 'allocatorFragmentation must be in [0, 1), e.g. 0.06');
  }
  if (gpu.memoryBytes <= runtime.safetyMarginBytes) {
    fail(
      'runtime.safetyMarginBytes',
      `safetyMarginBytes must be below the card's ${gpu.memoryBytes} bytes`,
    );
  }
  return errors;
}

/** torchtune's optimizer in backward steps each parameter in its gradient hook: it cannot
 * accumulate gradients (the recipes raise), and DeepSpeed and Megatron own their step. */
function optimizerInBackwardErrors(request: PlanRequest): FieldError[] {
  const { runtime, training } = request;
  if (!runtime.optimizerInBackward) return [];
  const errors: FieldError[] = [];
  if (training.gradientAccumulationSteps > 1) {
    errors.push({
      field: 'runtime.optimizerInBackward',
      message: `optimizerInBackward steps each parameter as its gradient arrives and cannot accumulate ${training.gradientAccumulationSteps} micro-batches (torchtune raises); set gradientAccumulationSteps to 1 or turn it off`,
    });
  }
  if (runtime.dataParallelEngine !== 'pytorch') {
    errors.push({
      field: 'runtime.optimizerInBackward',
      message: `optimizerInBackward needs dataParallelEngine 'pytorch': ${runtime.dataParallelEngine} steps its own optimizer`,
    });
  }
  return errors;
}

/** fp8 matmuls need a card with fp8 tensor cores; only tensorwise scaling gathers fp8 weights
 * (torchao's Float8LinearConfig refuses enable_fsdp_float8_all_gather otherwise). */
function fp8Errors(request: PlanRequest, gpu: GpuSpec): FieldError[] {
  const { runtime } = request;
  const errors: FieldError[] = [];
  if (runtime.fp8Recipe !== 'none' && !gpu.fp8) {
    errors.push({
      field: 'runtime.fp8Recipe',
      message: `fp8Recipe '${runtime.fp8Recipe}' needs fp8 tensor cores; ${gpu.id} has none (Hopper, Ada and Blackwell cards do)`,
    });
  }
  if (runtime.fp8AllGather && runtime.fp8Recipe !== 'tensorwise') {
    errors.push({
      field: 'runtime.fp8AllGather',
      message: "fp8AllGather gathers tensorwise-scaled weights: set fp8Recipe 'tensorwise'",
    });
  }
  return errors;
}

/** The pipeline split's own checks (torchtitan's _generate_llm_fqn_per_model_part): the weights
 * the embedding and head count as are whole layers, and every virtual stage gets a layer. */
function pipelineSplitErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const { parallelism, runtime } = request;
  const weights = [
    ['runtime.pipelineFirstStageLessLayers', runtime.pipelineFirstStageLessLayers],
    ['runtime.pipelineLastStageLessLayers', runtime.pipelineLastStageLessLayers],
  ] as const;
  const bad = weights.filter(([, value]) => !(Number.isSafeInteger(value) && value >= 0));
  if (bad.length > 0) {
    return bad.map(([field, value]) => ({
      field,
      message: `${field.split('.')[1]} (${value}) must be a whole number of layers, 0 or more`,
    }));
  }
  const stages = parallelism.pipelineParallel * parallelism.virtualStages;
  try {
    virtualStageSpans(arch.numLayers, stages, {
      firstStageLessLayers: runtime.pipelineFirstStageLessLayers,
      lastStageLessLayers: runtime.pipelineLastStageLessLayers,
    });
    return [];
  } catch (error) {
    if (!(error instanceof PipelineSplitError)) throw error;
    return [
      {
        field: 'parallelism.pipelineParallel',
        message: `pipelineParallel x virtualStages (${stages}) cannot split ${arch.id}: ${error.message}; use fewer stages`,
      },
    ];
  }
}

/** Things a user should know that do not stop the plan. */
export function requestWarnings(
  request: PlanRequest,
  arch: ModelArchitecture,
  dataParallel: number,
): string[] {
  const warnings: string[] = [];
  const { training, parallelism, runtime } = request;
  if (parallelism.zeroStage > 0 && dataParallel * parallelism.contextParallel === 1) {
    warnings.push(`ZeRO stage ${parallelism.zeroStage} shards nothing with one data-parallel rank`);
  }
  if (parallelism.sequenceParallel && parallelism.tensorParallel === 1) {
    warnings.push('sequenceParallel has no effect without tensorParallel > 1');
  }
  if (training.sequenceLength > arch.maxPositionEmbeddings && !sequenceLimit(arch)) {
    warnings.push(
      `sequenceLength ${training.sequenceLength} exceeds the model's max_position_embeddings (${arch.maxPositionEmbeddings})`,
    );
  }
  if (training.activationCheckpointing === 'selective' && runtime.attention === 'flash') {
    warnings.push(
      "selective recompute with flash attention follows torchtitan's op-level policy (every other matmul kept)",
    );
  }
  if (
    parallelism.pipelineParallel > 1 &&
    training.gradientAccumulationSteps < parallelism.pipelineParallel
  ) {
    warnings.push(
      `only ${training.gradientAccumulationSteps} micro-batch(es) for ${parallelism.pipelineParallel} pipeline stages: the bubble dominates; raise gradientAccumulationSteps`,
    );
  }
  if (training.optimizer === 'paged-adamw-8bit') {
    warnings.push(
      "paged optimizer states live in unified memory outside PyTorch's allocator: counted in runtimeOverhead",
    );
  }
  if (runtime.fp8Recipe !== 'none' && training.method !== 'full') {
    warnings.push(
      `fp8Recipe '${runtime.fp8Recipe}' converts trained linears only: the adapters and the frozen base stay 16-bit`,
    );
  }
  if (training.precision === 'fp16-mixed') {
    warnings.push('fp16-mixed needs loss scaling; memory is modelled as bf16-mixed');
  }
  return warnings;
}
