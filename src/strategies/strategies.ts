// What each strategy the planner models does to memory, what it costs, and when it applies.

export interface Strategy {
  id: string;
  name: string;
  /** data parallel, model parallel, fine-tuning or memory saving. */
  kind: 'data-parallel' | 'model-parallel' | 'fine-tuning' | 'memory-saving';
  /** What it divides among GPUs, or moves off them. */
  shards: string[];
  /** How per-GPU memory changes, in words. */
  saves: string;
  /** What it costs in compute or communication. */
  costs: string;
  /** Conditions the planner checks (it answers 400 naming the field when one fails). */
  constraints: string[];
  /** The PlanRequest fields that turn it on. */
  request: Record<string, unknown>;
  source: string;
}

export const STRATEGIES: Strategy[] = [
  {
    id: 'ddp',
    name: 'Data parallel (DDP)',
    kind: 'data-parallel',
    shards: ['the batch'],
    saves: 'nothing: every GPU holds the full weights, gradients and optimizer states',
    costs: 'one all-reduce of the gradients per step, overlapped with backward in buckets',
    constraints: ['the whole model state must fit on one GPU'],
    request: { 'parallelism.zeroStage': 0 },
    source: 'PyTorch DistributedDataParallel (Li et al., 2020)',
  },
  {
    id: 'zero-1',
    name: 'ZeRO stage 1',
    kind: 'data-parallel',
    shards: ['optimizer states', 'fp32 master weights'],
    saves:
      'optimizer states and master weights divide by the data-parallel degree: 2 + 2 + 12/N bytes per parameter for mixed-precision Adam',
    costs: 'the same traffic as DDP (reduce-scatter + all-gather)',
    constraints: ['saves nothing with one data-parallel rank'],
    request: { 'parallelism.zeroStage': 1 },
    source: 'Rajbhandari et al., ZeRO (2020), figure 1',
  },
  {
    id: 'zero-2',
    name: 'ZeRO stage 2',
    kind: 'data-parallel',
    shards: ['optimizer states', 'fp32 master weights', 'gradients'],
    saves: 'gradients shard too: 2 + (2 + 12)/N bytes per parameter for mixed-precision Adam',
    costs: 'the same traffic as DDP; gradients are reduce-scattered in buckets',
    constraints: ['saves nothing with one data-parallel rank'],
    request: { 'parallelism.zeroStage': 2 },
    source: 'Rajbhandari et al., ZeRO (2020), figure 1',
  },
  {
    id: 'zero-3',
    name: 'ZeRO stage 3 / FSDP full shard',
    kind: 'data-parallel',
    shards: ['optimizer states', 'fp32 master weights', 'gradients', 'parameters'],
    saves:
      '(2 + 2 + 12)/N bytes per parameter, plus the gathered full units (layers) in flight during forward and backward',
    costs: '1.5x the traffic of DDP: parameters are all-gathered in forward and again in backward',
    constraints: [
      'saves nothing with one data-parallel rank',
      'shards over dataParallel x contextParallel',
    ],
    request: { 'parallelism.zeroStage': 3 },
    source: 'Rajbhandari et al., ZeRO (2020); Zhao et al., PyTorch FSDP (2023)',
  },
  {
    id: 'tensor-parallel',
    name: 'Tensor parallelism',
    kind: 'model-parallel',
    shards: [
      'attention heads',
      'MLP columns and rows',
      'their gradients and optimizer states',
      'most activations',
    ],
    saves: 'the weights of each layer and the activations inside attention and the MLP divide by t',
    costs: 'two all-reduces per layer in forward and two in backward, on the critical path',
    constraints: [
      'tensorParallel divides num_attention_heads',
      'tensorParallel divides num_key_value_heads or is a multiple of it (K/V heads are replicated)',
      'tensorParallel <= gpusPerNode (it needs NVLink)',
      'nodes x gpusPerNode is a multiple of tensorParallel x pipelineParallel x contextParallel',
    ],
    request: { 'parallelism.tensorParallel': 2 },
    source: 'Shoeybi et al., Megatron-LM (2019)',
  },
  {
    id: 'sequence-parallel',
    name: 'Sequence parallelism (with tensor parallelism)',
    kind: 'model-parallel',
    shards: ['norm and dropout activations along the sequence'],
    saves:
      'the activations tensor parallelism leaves replicated (norms, dropout masks) divide by t too',
    costs: 'none beyond tensor parallelism: all-reduces become reduce-scatter + all-gather',
    constraints: ['needs tensorParallel > 1'],
    request: { 'parallelism.tensorParallel': 2, 'parallelism.sequenceParallel': true },
    source:
      'Korthikanti et al., Reducing Activation Recomputation in Large Transformer Models (2022)',
  },
  {
    id: 'context-parallel',
    name: 'Context parallelism (ring attention)',
    kind: 'model-parallel',
    shards: ['the sequence: every activation of every layer'],
    saves:
      'all activations divide by c; FSDP shards model states over dataParallel x contextParallel',
    costs: 'key/value blocks pass around a ring during attention, overlapped with compute',
    constraints: [
      'contextParallel divides sequenceLength',
      'nodes x gpusPerNode is a multiple of tensorParallel x pipelineParallel x contextParallel',
    ],
    request: { 'parallelism.contextParallel': 2 },
    source: 'Liu et al., Ring Attention (2023); Megatron-Core context parallelism',
  },
  {
    id: 'pipeline-parallel',
    name: 'Pipeline parallelism',
    kind: 'model-parallel',
    shards: ['the layers, in consecutive stages'],
    saves:
      "each rank holds its stage's model states; it keeps activations of the micro-batches in flight (1F1B: stage s of p keeps p - s), and torch.distributed.pipelining a receive buffer and an input gradient per micro-batch",
    costs:
      'an idle bubble of (p - 1)/(m + p - 1) of the step for m micro-batches (less with interleaving)',
    constraints: [
      'pipelineParallel <= num_hidden_layers',
      "virtualStages > 1 needs pipelineSchedule 'interleaved'; layers need not divide evenly: torchtitan's split counts the embedding and the head as runtime.pipelineFirstStageLessLayers / pipelineLastStageLessLayers layers and gives the remainder to the first stages",
      'nodes x gpusPerNode is a multiple of tensorParallel x pipelineParallel x contextParallel',
    ],
    request: { 'parallelism.pipelineParallel': 2, 'parallelism.pipelineSchedule': '1f1b' },
    source:
      'Narayanan et al., Efficient Large-Scale Language Model Training on GPU Clusters (2021)',
  },
  {
    id: 'expert-parallel',
    name: 'Expert parallelism',
    kind: 'model-parallel',
    shards: ['the routed experts of each MoE layer'],
    saves: 'expert weights, gradients and optimizer states divide by e',
    costs: 'two all-to-all exchanges of tokens per MoE layer in forward and two in backward',
    constraints: [
      'needs a mixture-of-experts model',
      'expertParallel divides the number of experts',
      'expertParallel divides dataParallel x contextParallel',
    ],
    request: { 'parallelism.expertParallel': 8 },
    source: 'Lepikhin et al., GShard (2020); Fedus et al., Switch Transformers (2021)',
  },
  {
    id: 'lora',
    name: 'LoRA',
    kind: 'fine-tuning',
    shards: [],
    saves:
      'the base weights are frozen: gradients and optimizer states exist only for the low-rank adapters',
    costs: 'slightly more compute per layer for the adapters; activations stay about the same',
    constraints: [
      "training.method 'lora'",
      "targetModules name linear layers of the model, or 'all-linear'",
      'rank is a positive integer; dropout is in [0, 1)',
    ],
    request: { 'training.method': 'lora', 'training.lora': { rank: 16, alpha: 32 } },
    source: 'Hu et al., LoRA (2021); Hugging Face PEFT',
  },
  {
    id: 'qlora',
    name: 'QLoRA',
    kind: 'fine-tuning',
    shards: [],
    saves:
      'LoRA, with the frozen base weights stored in 4-bit NF4 (about 0.5 byte per parameter plus quantisation constants)',
    costs: 'dequantising each weight block for every matmul: slower than LoRA',
    constraints: ["training.method 'qlora'", 'the same adapter rules as LoRA'],
    request: { 'training.method': 'qlora', 'training.qlora': { doubleQuant: true } },
    source: 'Dettmers et al., QLoRA (2023); bitsandbytes',
  },
  {
    id: 'cpu-offload',
    name: 'CPU offload (ZeRO-Offload / ZeRO-Infinity)',
    kind: 'memory-saving',
    shards: [
      'optimizer states and master weights to host memory',
      'with zeroStage 3, parameters too',
    ],
    saves: 'the offloaded states leave the GPU; the plan reports the host memory each node needs',
    costs: 'PCIe transfers every step and the optimizer step on the CPU',
    constraints: [
      'parameter offload needs zeroStage 3',
      'the host memory per node must hold the offloaded states',
    ],
    request: { 'parallelism.offload': { optimizer: 'cpu', parameters: 'none' } },
    source: 'Ren et al., ZeRO-Offload (2021); Rajbhandari et al., ZeRO-Infinity (2021)',
  },
  {
    id: 'activation-checkpointing',
    name: 'Activation checkpointing (recompute)',
    kind: 'memory-saving',
    shards: [],
    saves:
      "'full' keeps only each layer's input and recomputes the layer in backward; 'selective' recomputes the memory-heavy, cheap parts",
    costs: "'full' adds about one forward pass (~33% more compute); 'selective' adds a few percent",
    constraints: ["training.activationCheckpointing is 'none', 'selective' or 'full'"],
    request: { 'training.activationCheckpointing': 'full' },
    source:
      'Chen et al., Training Deep Nets with Sublinear Memory Cost (2016); Korthikanti et al. (2022)',
  },
  {
    id: 'activation-offloading',
    name: 'Activation offloading',
    kind: 'memory-saving',
    shards: ['saved activations to pinned host memory'],
    saves: 'activations saved for backward leave the GPU during forward and come back in backward',
    costs:
      'host-device transfers, overlapped with compute on a side stream; needs pinned host memory',
    constraints: ['training workloads only'],
    request: { 'runtime.activationOffloading': true },
    source: "torchtune's OffloadActivations; Megatron-Core activation offloading",
  },
];
