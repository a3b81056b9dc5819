// Every family the planner reads, by Hugging Face model_type.
import { Family } from '../family';
import { apertus } from './apertus';
import { arcee } from './arcee';
import { ayaVision } from './aya-vision';
import { bamba } from './bamba';
import { bert, distilbert, electra } from './bert';
import { bloom } from './bloom';
import { deberta } from './deberta';
import { debertaV2 } from './deberta-v2';
import { modernbert } from './modernbert';
import { cohere } from './cohere';
import { cohere2 } from './cohere2';
import { deepseek } from './deepseek';
import { dots1 } from './dots1';
import { ernie, ernieMoe } from './ernie';
import { exaone4 } from './exaone4';
import { falcon } from './falcon';
import { falconH1 } from './falcon-h1';
import { gemma, gemma2, vaultgemma } from './gemma';
import { gemma3 } from './gemma3';
import { glm } from './glm';
import { glm4Moe } from './glm4-moe';
import { glm4MoeLite } from './glm4-moe-lite';
import { gpt2 } from './gpt2';
import { gptBigCode } from './gpt-bigcode';
import { gptj } from './gptj';
import { codegen } from './codegen';
import { mpt } from './mpt';
import { gptNeo } from './gpt-neo';
import { gptNeox } from './gpt-neox';
import { gptOss } from './gpt-oss';
import { granite, graniteMoe, graniteMoeHybrid, graniteMoeShared } from './granite';
import { helium } from './helium';
import { hunyuan, hunyuanMoe } from './hunyuan';
import { jamba } from './jamba';
import { lfm2, lfm2Moe } from './lfm2';
import { llama } from './llama';
import { llama4 } from './llama4';
import { llava, llavaNext, llavaOnevision } from './llava';
import { internvl } from './internvl';
import { idefics2 } from './idefics2';
import { idefics3, smolvlm } from './idefics3';
import { paligemma } from './paligemma';
import { mamba, mamba2 } from './mamba';
import { mistral3 } from './mistral3';
import { ministral3 } from './ministral3';
import { minimaxM2 } from './minimax-m2';
import { mllama } from './mllama';
import { nemotron } from './nemotron';
import { nemotronH } from './nemotron-h';
import { olmo } from './olmo';
import { olmo2 } from './olmo2';
import { olmo3 } from './olmo3';
import { olmoe } from './olmoe';
import { flexOlmo } from './flex-olmo';
import { opt } from './opt';
import { phi } from './phi';
import { phi3 } from './phi3';
import { phimoe } from './phimoe';
import { qwen2, qwen3 } from './qwen';
import { qwen3Next } from './qwen3-next';
import { qwen3_5, qwen3_5Moe } from './qwen3-5';
import { qwen3Vl, qwen3VlMoe } from './qwen3-vl';
import { qwen2Vl } from './qwen2-vl';
import { seedOss } from './seed-oss';
import { smollm3 } from './smollm3';
import { stablelm } from './stablelm';
import { starcoder2 } from './starcoder2';
import { t5 } from './t5';
import { bart } from './bart';

const ALL: Family[] = [
  llama,
  qwen2,
  qwen3,
  qwen3Next,
  qwen3_5,
  qwen3_5Moe,
  qwen3Vl,
  qwen3VlMoe,
  falconH1,
  minimaxM2,
  gemma,
  gemma2,
  vaultgemma,
  gemma3,
  phi3,
  glm,
  glm4Moe,
  glm4MoeLite,
  dots1,
  helium,
  apertus,
  ernie,
  ernieMoe,
  exaone4,
  hunyuan,
  hunyuanMoe,
  seedOss,
  arcee,
  nemotron,
  nemotronH,
  olmo,
  olmo2,
  olmo3,
  olmoe,
  flexOlmo,
  granite,
  graniteMoe,
  graniteMoeShared,
  graniteMoeHybrid,
  smollm3,
  starcoder2,
  deepseek,
  cohere,
  cohere2,
  gpt2,
  gptBigCode,
  gptj,
  codegen,
  mpt,
  gptNeo,
  opt,
  gptNeox,
  bloom,
  falcon,
  phi,
  stablelm,
  bert,
  distilbert,
  electra,
  deberta,
  debertaV2,
  modernbert,
  t5,
  bart,
  llama4,
  mllama,
  mistral3,
  llava,
  llavaNext,
  llavaOnevision,
  internvl,
  ayaVision,
  idefics2,
  idefics3,
  smolvlm,
  paligemma,
  ministral3,
  qwen2Vl,
  phimoe,
  gptOss,
  mamba,
  mamba2,
  jamba,
  bamba,
  lfm2,
  lfm2Moe,
];

/** Family modules by every model_type they read. */
export const FAMILIES: ReadonlyMap<string, Family> = new Map(
  ALL.flatMap((family) => family.types.map((type) => [type, family] as const)),
);

/** The model_type names a refusal lists (aliases of older checkpoints left out). */
export const SUPPORTED_TYPES: string[] = ALL.flatMap((family) =>
  family.types.filter((type) => !['refinedweb', 'refinedwebmodel', 'rw'].includes(type)),
);

/** What a family's aliases read as (Falcon's first RefinedWeb configs are falcon). */
export function canonicalType(type: string): string {
  const family = FAMILIES.get(type);
  if (family === falcon) return 'falcon';
  // mT5 runs T5's modules (modeling_mt5.py copies them); UMT5's attention is its own.
  if (family === t5) return type === 'umt5' ? 'umt5' : 't5';
  return type;
}
