// Preference training as TRL runs it: DPOTrainer (trl/trainer/dpo_trainer.py), KTOTrainer
// (trl/trainer/kto_trainer.py) and the reward model's RewardTrainer
// (trl/trainer/reward_trainer.py): what a request for them may ask, the model each trains and
// the sequences one micro-batch holds.
import { FAMILIES } from '../model/families';
import {
  FieldError,
  ModelArchitecture,
  PlanRequest,
  PreferenceObjective,
  ReferenceScoredObjective,
  ReferenceSettings,
  TrainingSettings,
} from '../vocabulary';

/** Sequences one micro-batch runs through the model with gradients: the DPO and reward
 * trainers' collators put each pair's chosen and rejected sequences in one batch of 2b rows
 * ("batch is [chosen, rejected]"); KTO's examples are unpaired, b rows (its mismatched KL
 * sequences run in forwards of their own under no_grad). */
export function sequencesPerMicroBatch(training: TrainingSettings): number {
  const paired = training.preference === 'dpo' || training.preference === 'reward';
  return paired ? 2 * training.microBatchSize : training.microBatchSize;
}

/** Tokens one rank's micro-batch runs: its sequences, each split over the context-parallel
 * ranks. */
export function microBatchTokens(training: TrainingSettings, contextParallel: number): number {
  return (sequencesPerMicroBatch(training) * training.sequenceLength) / contextParallel;
}

/** KTO's default loss (loss_type 'kto') estimates a KL term from mismatched completions: the
 * policy and the reference each run a forward over b of them (kto_trainer.py calculate_KL). */
export function estimatesKl(training: TrainingSettings): boolean {
  return training.preference === 'kto';
}

/** The model the run trains: RewardTrainer loads the checkpoint as
 * AutoModelForSequenceClassification with num_labels=1 (reward_trainer.py), the vocabulary head
 * replaced by a one-output score (a decoder's, pooled at each sequence's last token) or the
 * family's pooled classifier; any other objective trains the model as given. */
export function trainedArchitecture(
  preference: PreferenceObjective | undefined,
  arch: ModelArchitecture,
): ModelArchitecture {
  return preference === 'reward' ? { ...arch, sequenceClassificationLabels: 1 } : arch;
}

type Trained = Exclude<PreferenceObjective, 'none'>;

const TRAINER: Record<Trained, string> = {
  dpo: "TRL's DPOTrainer",
  reward: "TRL's RewardTrainer",
  kto: "TRL's KTOTrainer",
};

// Each reference-scored objective in messages' words.
const SCORED: Record<ReferenceScoredObjective, string> = { dpo: 'DPO', kto: 'KTO' };

/** The smallest micro-batch the objective runs: KTO's KL term needs two completions. */
export function smallestMicroBatch(training: TrainingSettings): number {
  return estimatesKl(training) ? 2 : 1;
}

/** Objectives that score the policy against a reference model (DPO's and KTO's). */
export function scoresAgainstReference(
  preference: PreferenceObjective,
): preference is ReferenceScoredObjective {
  return preference === 'dpo' || preference === 'kto';
}

/** The request's DPOConfig or KTOConfig reference knob. */
function referenceSettings(training: TrainingSettings): ReferenceSettings | undefined {
  if (training.preference === 'dpo') return training.dpo;
  return training.preference === 'kto' ? training.kto : undefined;
}

/** A DPO or KTO step keeps and runs a reference model beside the policy: a copy of the model
 * under full fine-tuning, none where the reference is the policy with its adapters disabled
 * (PEFT) or its log-probabilities come with the batch (precompute_ref_log_probs). */
export function separateReferenceModel(request: PlanRequest): boolean {
  return request.training.method === 'full' && runsReferenceForward(request);
}

/** The reference's forward runs in every step (not precomputed). */
export function runsReferenceForward(request: PlanRequest): boolean {
  const { training } = request;
  const precomputed = referenceSettings(training)?.precomputeReferenceLogProbs;
  return scoresAgainstReference(training.preference) && !precomputed;
}

/** Forwards the reference runs a micro-batch, each over as many tokens as the policy trains
 * on: DPO's over the pairs, KTO's over its KL sequences and then its completions. */
export function referenceForwards(request: PlanRequest): number {
  if (!runsReferenceForward(request)) return 0;
  return estimatesKl(request.training) ? 2 : 1;
}

// Frameworks with their own training loops: torchtune's DPO recipes differ, the others have none.
const OWN_LOOPS = ['torchtune', 'torchtitan', 'litgpt', 'megatron'];

/** What a preference request cannot be planned with, each by its field. */
export function preferenceErrors(request: PlanRequest, arch: ModelArchitecture): FieldError[] {
  const { preference } = request.training;
  if (preference === 'none') return [];
  if (request.workload === 'inference') {
    const message = `${preference} plans a training step: leave preference 'none' to serve`;
    return [{ field: 'training.preference', message }];
  }
  const shape =
    preference === 'reward' ? arch.encoder && 'an encoder-decoder' : nonCausalShape(arch);
  const modelErrors: FieldError[] = shape
    ? [{ field: 'training.preference', message: unplannedModel(preference, shape) }]
    : [];
  return [
    ...modelErrors,
    ...parallelErrors(request),
    ...loopErrors(request),
    ...klBatchErrors(request),
  ];
}

function unplannedModel(preference: Trained, shape: string): string {
  return !scoresAgainstReference(preference)
    ? `a reward model is planned as a decoder's or an encoder's sequence classifier; this model is ${shape}: use preference 'none'`
    : `${SCORED[preference]} scores a causal language model's completions token by token; this model is ${shape}: use preference 'none'`;
}

/** KTOTrainer refuses a per-device batch of one where it estimates the KL term: the mismatched
 * completions are the batch's own, cycled by one. */
function klBatchErrors({ training }: PlanRequest): FieldError[] {
  if (training.microBatchSize >= smallestMicroBatch(training)) return [];
  const message =
    "KTO estimates its KL term from the micro-batch's completions paired with other prompts of the same micro-batch (TRL's KTOTrainer refuses a batch of one): set microBatchSize to 2 or more";
  return [{ field: 'training.microBatchSize', message }];
}

const MODEL_PARALLEL = [
  'tensorParallel',
  'pipelineParallel',
  'contextParallel',
  'expertParallel',
] as const;

/** Accelerate runs TRL on data parallelism alone. */
function parallelErrors({ parallelism, training }: PlanRequest): FieldError[] {
  const trainer = TRAINER[training.preference as Trained];
  return MODEL_PARALLEL.filter((degree) => parallelism[degree] > 1).map((degree) => ({
    field: `parallelism.${degree}`,
    message: `${trainer} is planned on Accelerate's data parallelism (DDP, DeepSpeed ZeRO or FSDP): set ${degree} to 1 for preference '${training.preference}'`,
  }));
}

/** The loss TRL computes, and the loops and gradient sync it runs under. */
function loopErrors({ runtime, training }: PlanRequest): FieldError[] {
  const trainer = TRAINER[training.preference as Trained];
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (scoresAgainstReference(training.preference) && runtime.crossEntropy !== 'standard')
    fail(
      'runtime.crossEntropy',
      `${SCORED[training.preference]} takes its log-probabilities from the whole logits (selective_log_softmax), not a chunked or fused loss: set crossEntropy to 'standard'`,
    );
  if (runtime.dataParallelEngine === 'megatron')
    fail(
      'runtime.dataParallelEngine',
      `${trainer} syncs gradients with DDP, DeepSpeed or FSDP, not Megatron's DDP: use 'pytorch' or 'deepspeed'`,
    );
  if (OWN_LOOPS.includes(runtime.preset))
    fail(
      'runtime.preset',
      `${trainer} is planned as TRL runs it, not ${runtime.preset}'s loop: use preset 'hf-transformers', 'deepspeed' or 'none'`,
    );
  return errors;
}

/** How the model differs from a causal LM, or undefined where it is one. */
function nonCausalShape(arch: ModelArchitecture): string | undefined {
  if (arch.encoder) return 'an encoder-decoder';
  if (arch.sequenceClassificationLabels) return 'a sequence classifier';
  if (arch.maskedLmHead) return 'a masked-LM encoder';
  return undefined;
}

/** What a preference plan assumed, for its assumptions. */
export function preferenceNote(request: PlanRequest, arch: ModelArchitecture): string | undefined {
  const { preference, microBatchSize: b } = request.training;
  if (preference === 'none') return undefined;
  const said =
    preference === 'reward'
      ? rewardNote(b)
      : preference === 'kto'
        ? ktoNote(request)
        : dpoNote(request);
  return `${said}; TRL's disable_dropout zeroes every nn.Dropout module (PEFT's lora_dropout, and the dropout modules recorded for the model's family)${dropoutClause(arch)}`;
}

const pairs = (b: number) =>
  `each micro-batch of ${b} pair${b === 1 ? '' : 's'} runs as ${2 * b} sequences (chosen, then rejected)`;

function rewardNote(b: number): string {
  return `a reward model as TRL's RewardTrainer trains it: the checkpoint as AutoModelForSequenceClassification with one label (the vocabulary head replaced by a one-output score, so the parameter counts are the reward model's); ${pairs(b)}; the loss -logsigmoid(chosen - rejected) over the pooled scores`;
}

/** What DPO's and KTO's reference is and when it runs. */
function referenceClause(request: PlanRequest, forwards: string): string {
  if (!runsReferenceForward(request))
    return 'no reference model: its log-probabilities come with the batch (precompute_ref_log_probs)';
  return separateReferenceModel(request)
    ? `a reference copy of the model, loaded as the policy is (its weights' dtype, sharded as the policy under ZeRO-3, else whole on every GPU), runs ${forwards} under no_grad after the policy's log-probabilities, its logits held until the loss returns (fp32 through Accelerate's wrapper where accelerator.prepare_model prepared it; under ZeRO-3 prepare_deepspeed or prepare_fsdp did, and they stay 16-bit)`
    : `the reference is the policy with its adapters disabled (PEFT's disable_adapter), run ${forwards} under no_grad after the policy's log-probabilities`;
}

const LOG_PROBABILITIES =
  "log-probabilities by selective_log_softmax (16-bit logits: each sequence's log_softmax kept for backward; fp32 logits, as Accelerate's autocast wrapper returns them: logsumexp a sequence at a time, the logits kept for backward); the logged entropy copies the shifted logits";

function dpoNote(request: PlanRequest): string {
  const b = request.training.microBatchSize;
  const reference = referenceClause(request, 'a forward');
  return `DPO as TRL's DPOTrainer runs it: ${pairs(b)}; ${reference}; ${LOG_PROBABILITIES}; the masked means of the chosen and rejected logits (each at most half that copy) are not planned`;
}

function ktoNote(request: PlanRequest): string {
  const b = request.training.microBatchSize;
  const sequences = `${b} labelled completion${b === 1 ? '' : 's'}`;
  const reference = referenceClause(
    request,
    'two forwards (the KL sequences, then the completions)',
  );
  return `KTO as TRL's KTOTrainer runs it (loss_type 'kto'): each micro-batch of ${sequences} runs with gradients, after a forward under no_grad over as many mismatched KL sequences of the same length (each completion paired with another prompt of the micro-batch); ${reference}; ${LOG_PROBABILITIES}; the chosen and rejected rows' index_select copies of the shifted logits live until the loss returns, their completion-masked selections (at most that again, briefly) are not planned`;
}

/** The request and model as TRL's trainers run them: disable_dropout runs after get_peft_model,
 * so PEFT's lora_dropout (an nn.Dropout) is zeroed with the family's dropout modules, and
 * F.dropout with p 0 returns its input (no mask, no copy). */
export function dropoutAsTrlRuns(
  request: PlanRequest,
  arch: ModelArchitecture,
): { request: PlanRequest; arch: ModelArchitecture } {
  if (request.training.preference === 'none') return { request, arch };
  const { lora } = request.training;
  const training = lora?.dropout ? { ...request.training, lora: { ...lora, dropout: 0 } } : null;
  return {
    request: training ? { ...request, training } : request,
    arch: withoutDropoutModules(arch),
  };
}

/** The model with its family's dropout modules (Family.dropoutModules) at p = 0. */
function withoutDropoutModules(arch: ModelArchitecture): ModelArchitecture {
  const modules = FAMILIES.get(arch.modelType ?? '')?.dropoutModules;
  if (!arch.dropout || !modules) return arch;
  const dropout = { ...arch.dropout };
  for (const kind of modules) dropout[kind] = 0;
  return { ...arch, dropout };
}

/** Where configured dropout stays planned: families whose dropout modules are not recorded
 * keep every dropout the config gives. */
function dropoutClause(arch: ModelArchitecture): string {
  const { attention = 0, residual = 0, embedding = 0 } = withoutDropoutModules(arch).dropout ?? {};
  if (attention === 0 && residual === 0 && embedding === 0) return '';
  return "; the config's other dropout stays planned, where the model code applies it with F.dropout (OPT, StarCoder2, an attention dropout handed to the kernel) or its modules are not recorded";
}
