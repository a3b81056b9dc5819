// The model and GPU catalogs from data/*.json, validated at load; plain TypeScript, no Nest.
import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { architectureFromConfig, CALIBRATION_CATEGORIES, ErrorBands } from '../engine';
import { GpuSpec, ModelArchitecture, PlanValidationError } from '../engine';

/** A catalog model: the architecture plus the exact count its parameters must add up to. */
export interface CatalogModel extends ModelArchitecture {
  /** Trainable parameters, tied embeddings once, buffers excluded; absent for custom models. */
  exactParameters?: number;
  parameterNote?: string;
  custom?: boolean;
}

/** The repository root: the nearest folder above `from` with a package.json (src/ or dist/src/). */
export function findDataDirectory(from: string = __dirname): string {
  let directory = from;
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`no package.json above ${from}: cannot find data/`);
    directory = parent;
  }
  return join(directory, 'data');
}

const REQUIRED_MODEL_NUMBERS = [
  'hiddenSize',
  'numLayers',
  'numAttentionHeads',
  'numKeyValueHeads',
  'headDim',
  'intermediateSize',
  'vocabSize',
  'exactParameters',
] as const;
const REQUIRED_GPU_NUMBERS = [
  'memoryBytes',
  'bf16FlopsPerSecond',
  'memoryBandwidthBytesPerSecond',
  'intraNodeBandwidthBytesPerSecond',
  'pricePerGpuHour',
] as const;

function checkEntry(
  kind: string,
  entry: Record<string, unknown>,
  numbers: readonly string[],
): void {
  const id =
    typeof entry.id === 'string' && /^[a-z0-9][a-z0-9.-]*$/.test(entry.id) ? entry.id : undefined;
  if (!id)
    throw new Error(
      `${kind} catalog: an entry has no lowercase slug id (${JSON.stringify(entry.id)})`,
    );
  for (const field of numbers) {
    const value = entry[field];
    const allowZero = field === 'pricePerGpuHour';
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      value < 0 ||
      (!allowZero && value === 0)
    ) {
      throw new Error(
        `${kind} catalog: entry '${id}' has an invalid ${field} (${JSON.stringify(value)})`,
      );
    }
  }
  if (typeof entry.name !== 'string' || entry.name.length === 0) {
    throw new Error(`${kind} catalog: entry '${id}' has no name`);
  }
}

/** Tokens a Hugging Face repository name adds to its base checkpoint's (tuning, packaging,
 * quantisation) that leave the architecture as it is. */
const VARIANT_TOKENS = new Set([
  'instruct',
  'chat',
  'it',
  'hf',
  'base',
  'fp8',
  'bnb',
  '4bit',
  '8bit',
  'awq',
  'gptq',
  'gguf',
  'int4',
  'int8',
  'unsloth',
]);

/** A model name reduced to its base checkpoint: no organisation, no 'meta-' prefix, no variant
 * tokens (meta-llama/Llama-3.1-8B-Instruct and Meta-Llama-3.1-8B both give llama-3.1-8b). */
export function baseModelKey(name: string): string {
  const bare = name
    .toLowerCase()
    .slice(name.lastIndexOf('/') + 1)
    .replace(/^meta-/, '');
  return bare
    .split('-')
    .filter((token) => !VARIANT_TOKENS.has(token))
    .join('-');
}

/** A catalog model found for a name, and how the name was read when it was not exact. */
export interface ModelLookup {
  model: CatalogModel;
  /** Set when the name resolved through its base checkpoint: what the plan should say. */
  note?: string;
}

export class Catalog {
  private readonly modelsById = new Map<string, CatalogModel>();
  private readonly gpusById = new Map<string, GpuSpec>();
  private changes = 0;

  /** The calibration error bands every plan's range is read from (absent: plans carry none). */
  constructor(
    models: CatalogModel[],
    gpus: GpuSpec[],
    readonly errorBands?: ErrorBands,
  ) {
    models.forEach((m) => this.addModel(m));
    gpus.forEach((g) => this.gpusById.set(g.id, g));
  }

  models(): CatalogModel[] {
    return [...this.modelsById.values()];
  }

  gpus(): GpuSpec[] {
    return [...this.gpusById.values()];
  }

  /** By id or Hugging Face id, case-insensitive, or through its base checkpoint. */
  findModel(idOrAlias: string): CatalogModel | undefined {
    return this.lookupModel(idOrAlias)?.model;
  }

  /** By id or Hugging Face id, else by base checkpoint (Llama-3.1-8B-Instruct -> llama-3.1-8b),
   * saying which entry a base-checkpoint match stands for. */
  lookupModel(idOrAlias: string): ModelLookup | undefined {
    const key = idOrAlias.toLowerCase();
    const exact =
      this.modelsById.get(key) ?? this.models().find((m) => m.hfId?.toLowerCase() === key);
    if (exact) return { model: exact };
    const base = baseModelKey(idOrAlias);
    const model = this.models().find(
      (m) => baseModelKey(m.id) === base || (m.hfId !== undefined && baseModelKey(m.hfId) === base),
    );
    if (!model) return undefined;
    return {
      model,
      note: `'${idOrAlias}' was planned as catalog entry '${model.id}' (${model.hfId ?? model.name}): a variant of the same architecture`,
    };
  }

  findGpu(id: string): GpuSpec | undefined {
    return this.gpusById.get(id.toLowerCase());
  }

  addModel(model: CatalogModel): void {
    this.modelsById.set(model.id.toLowerCase(), model);
    this.changed();
  }

  /** Counts a change to the models, so answers remembered before it are not given after it. */
  protected changed(): void {
    this.changes += 1;
  }

  /** Changes to the models since the catalog was built: what an answer remembered for a
   * request must match, since a custom model may be deleted or registered again with another
   * config. */
  get generation(): number {
    return this.changes;
  }

  modelIds(): string[] {
    return [...this.modelsById.keys()];
  }

  gpuIds(): string[] {
    return [...this.gpusById.keys()];
  }
}

/** One models.json entry: the engine's own fields, or a Hugging Face `config` beside the id,
 * name and exact count (the newer families, whose layers are read from config.json). */
function catalogModel(entry: Record<string, unknown>): CatalogModel {
  const config = entry.config && typeof entry.config === 'object' ? entry.config : undefined;
  checkEntry('model', entry, config ? ['exactParameters'] : REQUIRED_MODEL_NUMBERS);
  try {
    const arch = architectureFromConfig(
      entry.id as string,
      (config ?? entry) as Record<string, unknown>,
      entry.name as string,
      `models.json '${entry.id}'`,
    );
    return {
      ...arch,
      hfId: (entry.hfId as string | null) ?? undefined,
      publishedParameters: (entry.publishedParameters as number | null) ?? undefined,
      exactParameters: entry.exactParameters as number,
      parameterNote: entry.parameterNote as string | undefined,
      source: entry.source as string | undefined,
    } satisfies CatalogModel;
  } catch (error) {
    const detail = error instanceof PlanValidationError ? error.message : String(error);
    throw new Error(`model catalog: entry '${entry.id}' is invalid: ${detail}`);
  }
}

/** The bands `npm run calibration:bands` writes; a missing or broken band stops the boot. */
export function loadErrorBands(dataDirectory: string = findDataDirectory()): ErrorBands {
  const path = join(dataDirectory, 'calibration', 'error-bands.json');
  const file = JSON.parse(readFileSync(path, 'utf8')) as ErrorBands;
  for (const key of [...CALIBRATION_CATEGORIES, 'pooled'] as const) {
    const band = file.bands?.[key];
    const valid =
      band !== undefined &&
      [band.lowError, band.highError].every((e) => Number.isFinite(e) && e > -1) &&
      band.lowError <= band.highError;
    if (!valid)
      throw new Error(
        `${path}: band '${key}' is missing or invalid; run npm run calibration:bands`,
      );
  }
  return { coverage: file.coverage, shrinkRows: file.shrinkRows, bands: file.bands };
}

/** Reads and validates data/models.json and data/gpus.json (and the error bands under
 * data/calibration); a broken entry stops the boot. */
export function loadCatalog(dataDirectory: string = findDataDirectory()): Catalog {
  const models = (
    JSON.parse(readFileSync(join(dataDirectory, 'models.json'), 'utf8')) as {
      models: Record<string, unknown>[];
    }
  ).models;
  const gpus = (
    JSON.parse(readFileSync(join(dataDirectory, 'gpus.json'), 'utf8')) as {
      gpus: Record<string, unknown>[];
    }
  ).gpus;
  const architectures = models.map(catalogModel);
  for (const entry of gpus) checkEntry('gpu', entry, REQUIRED_GPU_NUMBERS);
  return new Catalog(architectures, gpus as unknown as GpuSpec[], loadErrorBands(dataDirectory));
}

/** A catalog id, an alias, or an inline architecture / config.json; unknown ids name the field. */
export function resolveModel(
  catalog: Catalog,
  model: string | Record<string, unknown>,
): ModelArchitecture {
  return resolveModelWithNotes(catalog, model).arch;
}

/** The architecture and what a plan should say about how it was read: the catalog entry a
 * variant's name resolved to, and the architecture's own notes. */
export function resolveModelWithNotes(
  catalog: Catalog,
  model: string | Record<string, unknown>,
): { arch: ModelArchitecture; notes: string[] } {
  const arch = resolveModelOnly(catalog, model);
  const lookup = typeof model === 'string' ? catalog.lookupModel(model) : undefined;
  return { arch, notes: [...(lookup?.note ? [lookup.note] : []), ...(arch.notes ?? [])] };
}

function resolveModelOnly(
  catalog: Catalog,
  model: string | Record<string, unknown>,
): ModelArchitecture {
  if (typeof model === 'string') {
    const found = catalog.findModel(model);
    if (found) return found;
    throw new PlanValidationError([
      {
        field: 'model',
        message: `unknown model '${model}'; known: ${catalog.modelIds().join(', ')}`,
      },
    ]);
  }
  const id = typeof model.id === 'string' ? model.id : 'inline-model';
  const config = (
    model.config && typeof model.config === 'object' ? model.config : model
  ) as Record<string, unknown>;
  return architectureFromConfig(
    id,
    config,
    typeof model.name === 'string' ? model.name : undefined,
    'model',
  );
}

export function resolveGpu(catalog: Catalog, id: string): GpuSpec {
  const gpu = catalog.findGpu(id);
  if (gpu) return gpu;
  throw new PlanValidationError([
    { field: 'cluster.gpu', message: `unknown GPU '${id}'; known: ${catalog.gpuIds().join(', ')}` },
  ]);
}
