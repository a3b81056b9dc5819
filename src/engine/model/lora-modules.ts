// Which linears LoRA adapts, as PEFT wraps a model's own modules. The planner names a layer's
// linears by shared shapes (q_proj ... down_proj); Hugging Face's code for some families names
// them otherwise and fuses q, k and v into one module, which is what PEFT's target_modules match
// (peft/utils/constants.py: gpt2 -> c_attn; falcon, bloom, gpt_neox -> query_key_value).
import { LoraSettings, ModelArchitecture, PlanRequest } from '../vocabulary';
import { frameworkCode } from './model-code';
import type { LinearShape } from './parameters';

const QKV = ['q_proj', 'k_proj', 'v_proj'];

/** LoRA as the code running the layers applies it. PEFT wraps the model's own modules, a fused
 * one as one linear (r x in, joined outputs x r); litgpt's LoRAQKVLinear adapts each enabled
 * part of its fused qkv (lora_A of r x in per part, litgpt/lora.py), and its fc_1 and fc_2 hold
 * Phi-3's gate_up_proj (recipes/litgpt.ts), so `adaptsParts` counts each shape on its own. */
export interface AdaptedLora extends LoraSettings {
  adaptsParts?: boolean;
}

/** Whether litgpt's own Block runs the request's layers, where LoRA adapts each part. */
export function litgptRunsLayers(
  arch: ModelArchitecture,
  request: Pick<PlanRequest, 'runtime'>,
): boolean {
  const code = frameworkCode(arch, request);
  return code?.framework === 'litgpt' && !code.gap;
}

/** The request's LoRA, as its model code adapts it; undefined for full fine-tuning. */
export function requestLora(
  arch: ModelArchitecture,
  request: PlanRequest,
): AdaptedLora | undefined {
  const { training } = request;
  if (training.method === 'full' || !training.lora) return undefined;
  return { ...training.lora, adaptsParts: litgptRunsLayers(arch, request) };
}

/** Whether the shape is an nn.Linear PEFT can wrap at all: not a router (a gate, which PEFT
 * recipes leave alone), nor a routed expert (3-D nn.Parameters in v5's code, MixtralExperts'
 * gate_up_proj and down_proj, which neither 'all-linear' nor a module name reaches). */
function isAdaptable(shape: LinearShape): boolean {
  return shape.group !== 'router' && shape.group !== 'expert';
}

/** Whether PEFT adapts this shared shape under the target modules, by the shape's own name. */
export function isLoraTarget(lora: LoraSettings, shape: LinearShape): boolean {
  if (!isAdaptable(shape)) return false;
  if (lora.targetModules === 'all-linear') return true; // PEFT: every linear but the output head
  // PEFT matches the last name component: q_proj adapts T5's cross-attention q too.
  const bare = shape.name.slice(shape.name.lastIndexOf('.') + 1);
  return lora.targetModules.includes(shape.name) || lora.targetModules.includes(bare);
}

/** The dense-named modules of Falcon, BLOOM and GPT-NeoX, under their attention module's name. */
function queryKeyValueDense(attention: string): Record<string, string[]> {
  return {
    [`${attention}.query_key_value`]: QKV,
    [`${attention}.dense`]: ['o_proj'],
    'mlp.dense_h_to_4h': ['up_proj'],
    'mlp.dense_4h_to_h': ['down_proj'],
  };
}

// modeling_bart.py BartAttention.out_proj, the decoder's encoder_attn, fc1 / fc2 (q, k, v keep
// their names).
const BART_MODULES: Record<string, string[]> = {
  'self_attn.out_proj': ['o_proj'],
  'encoder_attn.q_proj': ['cross_attn.q_proj'],
  'encoder_attn.k_proj': ['cross_attn.k_proj'],
  'encoder_attn.v_proj': ['cross_attn.v_proj'],
  'encoder_attn.out_proj': ['cross_attn.o_proj'],
  fc1: ['up_proj'],
  fc2: ['down_proj'],
};

// modeling_bert.py BertSelfAttention.query / key / value, BertSelfOutput.dense,
// BertIntermediate.dense, BertOutput.dense.
const BERT_MODULES: Record<string, string[]> = {
  'attention.self.query': ['q_proj'],
  'attention.self.key': ['k_proj'],
  'attention.self.value': ['v_proj'],
  'attention.output.dense': ['o_proj'],
  'intermediate.dense': ['up_proj'],
  'output.dense': ['down_proj'],
};

// modeling_deberta_v2.py DisentangledSelfAttention.query_proj / key_proj / value_proj and, where
// share_att_key is off, pos_key_proj / pos_query_proj; BERT's output and intermediate denses.
const DEBERTA_V2_MODULES: Record<string, string[]> = {
  'attention.self.query_proj': ['q_proj'],
  'attention.self.key_proj': ['k_proj'],
  'attention.self.value_proj': ['v_proj'],
  'attention.self.pos_key_proj': ['pos_key_proj'],
  'attention.self.pos_query_proj': ['pos_query_proj'],
  'attention.output.dense': ['o_proj'],
  'intermediate.dense': ['up_proj'],
  'output.dense': ['down_proj'],
};

// modeling_deberta.py DisentangledSelfAttention.in_proj (q, k and v in one bias-free linear),
// pos_proj and pos_q_proj; BERT's output and intermediate denses.
const DEBERTA_MODULES: Record<string, string[]> = {
  'attention.self.in_proj': ['qkv_proj'],
  'attention.self.pos_proj': ['pos_key_proj'],
  'attention.self.pos_q_proj': ['pos_query_proj'],
  'attention.output.dense': ['o_proj'],
  'intermediate.dense': ['up_proj'],
  'output.dense': ['down_proj'],
};

// modular_modernbert.py ModernBertAttention.Wqkv (q, k and v in one linear) / Wo,
// ModernBertMLP.Wi (input and gate in one linear) / Wo. PEFT has no default targets for it.
const MODERNBERT_MODULES: Record<string, string[]> = {
  'attn.Wqkv': ['qkv_proj'],
  'attn.Wo': ['o_proj'],
  'mlp.Wi': ['gate_up_proj'],
  'mlp.Wo': ['down_proj'],
};

// modeling_lfm2.py Lfm2Attention.out_proj, Lfm2MLP w1 (gate), w3 (up) and w2 (down); the short
// convolution's in_proj and out_proj keep the shapes' names.
const LFM2_MODULES: Record<string, string[]> = {
  'self_attn.out_proj': ['o_proj'],
  'feed_forward.w1': ['gate_proj'],
  'feed_forward.w3': ['up_proj'],
  'feed_forward.w2': ['down_proj'],
};

// modeling_gpt2.py GPT2Attention.c_attn / c_proj, GPT2MLP.c_fc / c_proj (Conv1D).
const GPT2_MODULES: Record<string, string[]> = {
  'attn.c_attn': QKV,
  'attn.c_proj': ['o_proj'],
  'mlp.c_fc': ['up_proj'],
  'mlp.c_proj': ['down_proj'],
};

/** Per model_type, each module of a layer (its path inside the layer, as PEFT matches it) whose
 * name differs from the shared shapes, and the shapes it holds: several for a fused projection,
 * which PEFT adapts as one linear (one A of r x in, one B of r x the joined outputs). */
const HF_MODULES: Record<string, Record<string, string[]>> = {
  gpt2: GPT2_MODULES,
  // modeling_gpt_bigcode.py: GPT-2's module names on nn.Linear, c_attn planned as one qkv_proj.
  gpt_bigcode: { ...GPT2_MODULES, 'attn.c_attn': ['qkv_proj'] },
  falcon: queryKeyValueDense('self_attention'), // modeling_falcon.py FalconAttention, FalconMLP
  bloom: queryKeyValueDense('self_attention'), // modeling_bloom.py BloomAttention, BloomMLP
  gpt_neox: queryKeyValueDense('attention'), // modeling_gpt_neox.py GPTNeoXAttention, GPTNeoXMLP
  // modeling_phi.py PhiAttention.dense, PhiMLP.fc1 / fc2 (q, k, v keep their names).
  phi: { 'self_attn.dense': ['o_proj'], 'mlp.fc1': ['up_proj'], 'mlp.fc2': ['down_proj'] },
  // modeling_gptj.py GPTJAttention.out_proj, GPTJMLP.fc_in / fc_out (q, k, v keep their names).
  gptj: { 'attn.out_proj': ['o_proj'], 'mlp.fc_in': ['up_proj'], 'mlp.fc_out': ['down_proj'] },
  // modeling_codegen.py CodeGenAttention.qkv_proj (q, k and v in one linear) / out_proj,
  // CodeGenMLP.fc_in / fc_out.
  codegen: {
    'attn.qkv_proj': QKV,
    'attn.out_proj': ['o_proj'],
    'mlp.fc_in': ['up_proj'],
    'mlp.fc_out': ['down_proj'],
  },
  // modeling_mpt.py MptAttention.Wqkv (q, k and v in one linear) / out_proj; MptMLP keeps
  // up_proj and down_proj.
  mpt: { 'attn.Wqkv': QKV, 'attn.out_proj': ['o_proj'] },
  // modeling_gpt_neo.py GPTNeoSelfAttention.out_proj, GPTNeoMLP.c_fc / c_proj (q, k, v keep
  // their names).
  gpt_neo: {
    'attn.attention.out_proj': ['o_proj'],
    'mlp.c_fc': ['up_proj'],
    'mlp.c_proj': ['down_proj'],
  },
  // modeling_starcoder2.py Starcoder2MLP.c_fc / c_proj (attention keeps Llama's names).
  starcoder2: { 'mlp.c_fc': ['up_proj'], 'mlp.c_proj': ['down_proj'] },
  // modeling_opt.py OPTAttention.out_proj, OPTDecoderLayer.fc1 / fc2.
  opt: { 'self_attn.out_proj': ['o_proj'], fc1: ['up_proj'], fc2: ['down_proj'] },
  bart: BART_MODULES,
  mbart: BART_MODULES, // modeling_mbart.py: BART's modules, each norm moved before its sub-layer
  marian: BART_MODULES, // modeling_marian.py: BART's modules copied
  pegasus: BART_MODULES, // modeling_pegasus.py: mBART's
  m2m_100: BART_MODULES, // modeling_m2m_100.py: mBART's
  bert: BERT_MODULES,
  roberta: BERT_MODULES, // modeling_roberta.py RobertaLayer: BertLayer's modules copied
  'xlm-roberta': BERT_MODULES,
  camembert: BERT_MODULES, // modeling_camembert.py CamembertLayer: RobertaLayer copied
  electra: BERT_MODULES, // modeling_electra.py ElectraLayer: BertLayer's modules copied
  'deberta-v2': DEBERTA_V2_MODULES,
  deberta: DEBERTA_MODULES,
  modernbert: MODERNBERT_MODULES,
  lfm2: LFM2_MODULES,
  lfm2_moe: LFM2_MODULES, // its dense layers' Lfm2MoeMLP keeps the names; experts take none
  // modeling_distilbert.py DistilBertSelfAttention q_lin / k_lin / v_lin / out_lin, FFN lin1 / lin2.
  distilbert: {
    'attention.q_lin': ['q_proj'],
    'attention.k_lin': ['k_proj'],
    'attention.v_lin': ['v_proj'],
    'attention.out_lin': ['o_proj'],
    'ffn.lin1': ['up_proj'],
    'ffn.lin2': ['down_proj'],
  },
};

/** modeling_t5.py: T5Attention's q, k, v, o in SelfAttention and the decoder's EncDecAttention,
 * T5DenseActDense's wi and wo, or T5DenseGatedActDense's wi_0 (gate), wi_1 and wo. */
function t5Modules(arch: ModelArchitecture): Record<string, string[]> {
  const modules: Record<string, string[]> = {};
  for (const name of ['q', 'k', 'v', 'o']) {
    modules[`SelfAttention.${name}`] = [`${name}_proj`];
    modules[`EncDecAttention.${name}`] = [`cross_attn.${name}_proj`];
  }
  const gated = arch.mlp === 'gated';
  if (gated) modules['DenseReluDense.wi_0'] = ['gate_proj'];
  modules[gated ? 'DenseReluDense.wi_1' : 'DenseReluDense.wi'] = ['up_proj'];
  modules['DenseReluDense.wo'] = ['down_proj'];
  return modules;
}

/** PEFT's default target_modules per model_type (utils/constants.py
 * TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, the types the planner reads); PEFT has
 * none for the others and asks for target_modules, where the planner takes q_proj and v_proj,
 * or qkv_proj where q, k and v are one linear, and says so (noPeftDefaultNote). */
const PEFT_DEFAULT_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj'],
  llama4: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  mixtral: ['q_proj', 'v_proj'],
  stablelm: ['q_proj', 'v_proj'],
  gemma: ['q_proj', 'v_proj'],
  gemma2: ['q_proj', 'v_proj'],
  gemma3_text: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  qwen3: ['q_proj', 'v_proj'],
  opt: ['q_proj', 'v_proj'],
  bart: ['q_proj', 'v_proj'],
  gptj: ['q_proj', 'v_proj'],
  gpt_neo: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  gpt_bigcode: ['c_attn'],
  falcon: ['query_key_value'],
  bloom: ['query_key_value'],
  gpt_neox: ['query_key_value'],
  phi: ['q_proj', 'v_proj', 'fc1', 'fc2'],
  t5: ['q', 'v'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
  'xlm-roberta': ['query', 'value'],
  electra: ['query', 'value'],
  'deberta-v2': ['query_proj', 'value_proj'],
  deberta: ['in_proj'],
  modernbert: [], // none: PEFT asks for target_modules
  distilbert: ['q_lin', 'v_lin'],
  codegen: ['qkv_proj'],
  mpt: ['Wqkv'],
};

/** The model_type PEFT looks its default targets up by: the loaded model's config's, a
 * vision-language wrapper's where the text stack is wrapped (peft tuners/lora/model.py
 * _prepare_adapter_config reads model.config's model_type). */
function peftModelType(arch: Pick<ModelArchitecture, 'modelType' | 'wrapperType'>) {
  return arch.wrapperType ?? arch.modelType;
}

/** Where the targets are the planner's stand-in for a default PEFT lacks: what a run must do. */
export function noPeftDefaultNote(
  arch: ModelArchitecture,
  request: Pick<PlanRequest, 'training' | 'runtime'>,
): string | undefined {
  const targets = request.training.lora?.targetModules;
  if (request.training.method === 'full' || !Array.isArray(targets)) return undefined;
  // A catalog architecture without a model_type is read as Llama's, which PEFT maps.
  const type = peftModelType(arch);
  if (litgptRunsLayers(arch, request) || !type || PEFT_DEFAULT_TARGETS[type]) return undefined;
  const fallback = defaultLoraTargets(arch);
  if (targets.join() !== fallback.join()) return undefined;
  return `LoRA targets ${fallback.join(', ')} are the planner's default for model_type '${type}', for which PEFT has no default target_modules (utils/constants.py): a PEFT run must name them (get_peft_model raises "Please specify \`target_modules\` in \`peft_config\`")`;
}

/** The targets LoRA takes when the request names none: where litgpt's Block runs the layers
 * its flags (litgpt/finetune/lora.py setup: lora_query and lora_value on, lora_key,
 * lora_projection, lora_mlp and lora_head off), PEFT's otherwise. */
export function defaultLoraTargets(
  arch?: Partial<Pick<ModelArchitecture, 'modelType' | 'wrapperType' | 'fusedQkv' | 'mlp' | 'moe'>>,
  litgpt = false,
): string[] {
  if (litgpt) return ['q_proj', 'v_proj'];
  const family = PEFT_DEFAULT_TARGETS[(arch && peftModelType(arch)) ?? ''];
  if (family) return family;
  const standIn = arch?.fusedQkv ? ['qkv_proj'] : ['q_proj', 'v_proj'];
  if (!arch) return standIn;
  // Named as the model's code names them, which PEFT matches (CamemBERT's query and value).
  return standIn.map(
    (name) =>
      modulePath(arch as ModelArchitecture, name)
        ?.split('.')
        .pop() ?? name,
  );
}

/** The q, k and v parts of a fused qkv_proj (Phi-3's), as litgpt's qkv holds them side by side
 * and its LoRAQKVLinear adapts them (litgpt/lora.py: enable_q, enable_k, enable_v). */
export function qkvParts(arch: ModelArchitecture, qkv: LinearShape): LinearShape[] {
  const kvWidth = arch.numKeyValueHeads * arch.headDim;
  const qWidth = qkv.outFeatures - 2 * kvWidth;
  const part = (name: string, outFeatures: number) => ({ ...qkv, name, outFeatures });
  const [q, k, v] = QKV;
  return [part(q, qWidth), part(k, kvWidth), part(v, kvWidth)];
}

/** modular_granitemoeshared.py and modular_granitemoehybrid.py: the shared MLP (shared_mlp)
 * holds gate and up in one input_linear, then output_linear; beside the sparse block its shapes
 * are the shared expert's, in Granite 4.0's dense models (no experts) the MLP's own. */
function graniteSharedMlp(arch: ModelArchitecture): Record<string, string[]> {
  const [gateUp, down] = arch.moe
    ? [['shared_experts.gate_proj', 'shared_experts.up_proj'], ['shared_experts.down_proj']]
    : [['gate_up_proj'], ['down_proj']];
  return { 'shared_mlp.input_linear': gateUp, 'shared_mlp.output_linear': down };
}

/** The model's own modules that the shared shapes do not name, by path. */
export function hfModules(arch: ModelArchitecture): Record<string, string[]> {
  // modeling_umt5.py names its modules as T5's do.
  if (arch.modelType === 't5' || arch.modelType === 'umt5') return t5Modules(arch);
  if (arch.modelType === 'granitemoeshared' || arch.modelType === 'granitemoehybrid')
    return graniteSharedMlp(arch);
  return HF_MODULES[arch.modelType ?? ''] ?? {};
}

/** PEFT's match of a target name against a module path: the whole path or its last components
 * (tuners_utils.py check_target_module_exists: key == target or key.endswith('.' + target)). */
export function pathMatches(path: string, target: string): boolean {
  return path === target || path.endsWith(`.${target}`);
}

/** Whether the module at `path`, holding `parts`, is adapted: named by a target (its own name or
 * a shared shape's it holds), or every linear under 'all-linear'. */
export function moduleAdapted(lora: LoraSettings, path: string, parts: LinearShape[]): boolean {
  if (lora.targetModules === 'all-linear') return parts.some(isAdaptable);
  const targets = lora.targetModules;
  return (
    targets.some((target) => pathMatches(path, target)) ||
    parts.some((part) => isLoraTarget(lora, part))
  );
}

/** An adapted linear: its name, and the shared shapes it holds (one, or a fused projection's). */
export interface AdaptedModule {
  name: string;
  parts: LinearShape[];
}

/** The linears LoRA adapts among one layer's shapes: under PEFT each fused module once, under
 * litgpt each adapted part (Phi-3's gate_up_proj as fc_1 and fc_2, each half of it). */
export function adaptedModules(
  arch: ModelArchitecture,
  shapes: LinearShape[],
  lora: AdaptedLora,
): AdaptedModule[] {
  if (lora.adaptsParts) return adaptedParts(arch, shapes, lora);
  const modules = hfModules(arch);
  const pathOf = new Map<string, string>();
  for (const [path, parts] of Object.entries(modules))
    for (const part of parts) pathOf.set(part, path);
  const adapted: AdaptedModule[] = [];
  const grouped = new Map<string, LinearShape[]>();
  for (const shape of shapes) {
    const path = pathOf.get(shape.name);
    if (path) grouped.set(path, [...(grouped.get(path) ?? []), shape]);
    else if (isLoraTarget(lora, shape)) adapted.push({ name: shape.name, parts: [shape] });
  }
  for (const [path, parts] of grouped) {
    if (moduleAdapted(lora, path, parts)) adapted.push({ name: path, parts });
  }
  return adapted;
}

/** litgpt's adapters: one per adapted shape, a module's name reaching the shapes it holds; a
 * fused qkv_proj's parts each by its own name or the module's. */
function adaptedParts(
  arch: ModelArchitecture,
  shapes: LinearShape[],
  lora: LoraSettings,
): AdaptedModule[] {
  const adapted: AdaptedModule[] = [];
  for (const shape of shapes) {
    if (shape.name === 'qkv_proj') {
      for (const part of adaptedQkvParts(arch, lora, shape))
        adapted.push({ name: part.name, parts: [part] });
      continue;
    }
    if (!shapeAdapted(arch, lora, shape)) continue;
    if (shape.name !== 'gate_up_proj') adapted.push({ name: shape.name, parts: [shape] });
    else {
      const half = { ...shape, outFeatures: shape.outFeatures / 2 };
      adapted.push({ name: 'fc_1', parts: [half] }, { name: 'fc_2', parts: [half] });
    }
  }
  return adapted;
}

/** The parts of a fused qkv_proj litgpt adapts (lora.py LoRAQKVLinear: enable_q, enable_k,
 * enable_v): each a target names, or all where the target names qkv_proj itself. */
export function adaptedQkvParts(
  arch: ModelArchitecture,
  lora: LoraSettings,
  qkv: LinearShape,
): LinearShape[] {
  const whole = shapeAdapted(arch, lora, qkv);
  return qkvParts(arch, qkv).filter((part) => whole || isLoraTarget(lora, part));
}

/** The path of the model's own module holding a shared shape, where the model names it. */
export function modulePath(arch: ModelArchitecture, shape: string): string | undefined {
  return Object.entries(hfModules(arch)).find(([, parts]) => parts.includes(shape))?.[0];
}

/** Whether a shape the recipe builds as a linear of its own is adapted (a renamed module, such
 * as Falcon's dense for o_proj, counts under either name). */
export function shapeAdapted(arch: ModelArchitecture, lora: LoraSettings, shape: LinearShape) {
  const path = modulePath(arch, shape.name);
  return path ? moduleAdapted(lora, path, [shape]) : isLoraTarget(lora, shape);
}

/** Target names a layer's modules answer to: the model's own paths with each of their trailing
 * components (c_proj, attn.c_proj) and the shapes it does not rename; with `sharedNames`, the
 * shapes' names too (litgpt's and torchtune's LoRA flags name q, k and v whatever the model's
 * code calls them), which PEFT would not find (tuners_utils.py: "Target modules ... not found"). */
export function targetNames(
  arch: ModelArchitecture,
  shapes: LinearShape[],
  sharedNames = true,
  litgpt = false,
): string[] {
  const modules = hfModules(arch);
  const renamed = new Set(Object.values(modules).flat());
  const names = new Set(
    shapes
      .filter((shape) => isAdaptable(shape) && (sharedNames || !renamed.has(shape.name)))
      .map((shape) => shape.name),
  );
  // litgpt's lora_query, lora_key and lora_value enable the parts of a fused qkv_proj.
  if (litgpt && names.has('qkv_proj')) QKV.forEach((n) => names.add(n));
  for (const path of Object.keys(modules)) trailingNames(path).forEach((n) => names.add(n));
  return [...names];
}

/** A module path and each of its trailing components: the target names that match it. */
export function trailingNames(path: string): string[] {
  const parts = path.split('.');
  return parts.map((_, i) => parts.slice(i).join('.'));
}
