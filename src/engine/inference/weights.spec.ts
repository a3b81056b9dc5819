import { StageSpan } from '../model/placement';
import { deepseekV3, llama3_8b, t5Base } from './architectures.fixture';
import { bytesPerLinearWeight, stageWeightBytes } from './weights';

const single = { tensorParallel: 1, pipelineParallel: 1, expertParallel: 1 };
const oneLayer = (layer: number): StageSpan => ({
  stage: 0,
  firstLayer: layer,
  layers: 1,
  hasEmbedding: false,
  hasHead: false,
});
const wholeModel: StageSpan = {
  stage: 0,
  firstLayer: 0,
  layers: 32,
  hasEmbedding: true,
  hasHead: true,
};

// One Llama-3-8B layer: q and o 4096 x 4096, k and v 4096 x 1024, gate/up/down 3 x 4096 x 14336.
const llamaLayerLinear = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336; // 218,103,808
const llamaLayerNorms = 2 * 4096;

describe('bytes per weight at the serving precision', () => {
  it('fp32 4, bf16/fp16 2, fp8 1', () => {
    expect(bytesPerLinearWeight('fp32', 128)).toBe(4);
    expect(bytesPerLinearWeight('bf16', 128)).toBe(2);
    expect(bytesPerLinearWeight('fp16', 128)).toBe(2);
    expect(bytesPerLinearWeight('fp8', 128)).toBe(1);
  });
  it('int4 group 128: half a byte plus one fp16 scale per 128 weights = 0.515625', () => {
    expect(bytesPerLinearWeight('int4', 128)).toBe(0.5 + 2 / 128);
    expect(bytesPerLinearWeight('int4', 128)).toBe(0.515625);
  });
  it('int8 group 64: 1 + 2/64', () => {
    expect(bytesPerLinearWeight('int8', 64)).toBe(1.03125);
  });
});

describe('weight bytes of a rank', () => {
  it('one Llama-3-8B layer in int4 g128: 218,103,808 x 0.515625 + 8,192 norm weights x 2', () => {
    expect(llamaLayerLinear).toBe(218103808);
    const { bytes } = stageWeightBytes(llama3_8b, oneLayer(7), single, 'int4', 128);
    expect(bytes).toBe(218103808 * (0.5 + 2 / 128) + llamaLayerNorms * 2);
    expect(bytes).toBe(112476160);
  });
  it('one Llama-3-8B layer in int8 g128 and bf16', () => {
    expect(stageWeightBytes(llama3_8b, oneLayer(0), single, 'int8', 128).bytes).toBe(
      218103808 + 218103808 / 64 + llamaLayerNorms * 2,
    );
    expect(stageWeightBytes(llama3_8b, oneLayer(0), single, 'bf16', 128).bytes).toBe(
      (218103808 + llamaLayerNorms) * 2,
    );
  });
  it('whole Llama-3-8B: bf16 is 2 x 8,030,261,248; int4 keeps embedding, head and norms in 16 bits', () => {
    expect(stageWeightBytes(llama3_8b, wholeModel, single, 'bf16', 128).bytes).toBe(2 * 8030261248);
    const linear = 32 * llamaLayerLinear;
    const sixteenBit = 8030261248 - linear; // embedding + head 2 x 128,256 x 4,096, norms
    expect(sixteenBit).toBe(2 * 128256 * 4096 + 32 * llamaLayerNorms + 4096);
    expect(stageWeightBytes(llama3_8b, wholeModel, single, 'int4', 128).bytes).toBe(
      linear * 0.515625 + sixteenBit * 2,
    );
  });
  it('tensor parallel 2 halves the linears and replicates the norms', () => {
    const tp2 = { ...single, tensorParallel: 2 };
    expect(stageWeightBytes(llama3_8b, oneLayer(3), tp2, 'bf16', 128).bytes).toBe(
      (llamaLayerLinear / 2) * 2 + llamaLayerNorms * 2,
    );
  });
  it("DeepSeek-V3's routed experts of an MoE layer: 256 x 3 x 7,168 x 2,048 weights, split by EP", () => {
    const experts = 256 * 3 * 7168 * 2048;
    expect(stageWeightBytes(deepseekV3, oneLayer(3), single, 'fp8', 128).routedExpertBytes).toBe(
      experts,
    );
    const ep8 = { ...single, expertParallel: 8 };
    expect(stageWeightBytes(deepseekV3, oneLayer(3), ep8, 'fp8', 128).routedExpertBytes).toBe(
      experts / 8,
    );
    expect(stageWeightBytes(deepseekV3, oneLayer(0), single, 'fp8', 128).routedExpertBytes).toBe(0);
  });
});

describe("an encoder-decoder's encoder weights, which decode steps do not read", () => {
  // t5-base's encoder: 12 blocks of q, k, v, o (768^2 each) and wi, wo (768 x 3,072), two
  // RMSNorm weights, the relative bias table (32 x 12) in the first, the stack's final norm
  const t5 = t5Base;
  const encoder = 12 * (4 * 768 * 768 + 2 * 768 * 3072 + 2 * 768) + 32 * 12 + 768;
  const whole: StageSpan = {
    stage: 0,
    firstLayer: 0,
    layers: 24,
    hasEmbedding: true,
    hasHead: true,
  };

  it('counts the encoder blocks in bf16 apart from the rest', () => {
    expect(stageWeightBytes(t5, whole, single, 'bf16', 128).encoderBytes).toBe(2 * encoder);
    expect(stageWeightBytes(llama3_8b, wholeModel, single, 'bf16', 128).encoderBytes).toBe(0);
  });
});
