// Reads fields of a Hugging Face config.json (or the engine's own names), collecting each
// problem as a FieldError named as the config names it.
import { FieldError } from '../vocabulary';

export type Config = Record<string, unknown>;

/** Config keys that name the same field across families (first one present wins). */
export const ALIASES: Record<string, string[]> = {
  hiddenSize: ['hiddenSize', 'hidden_size', 'n_embd', 'n_embed', 'd_model'],
  numLayers: ['numLayers', 'num_hidden_layers', 'n_layer', 'num_layers'],
  numAttentionHeads: ['numAttentionHeads', 'num_attention_heads', 'n_head', 'num_heads'],
  numKeyValueHeads: [
    'numKeyValueHeads',
    'num_key_value_heads',
    'num_kv_heads',
    'n_head_kv',
    'multi_query_group_num',
  ],
  headDim: ['headDim', 'head_dim', 'd_kv'],
  intermediateSize: [
    'intermediateSize',
    'intermediate_size',
    'n_inner',
    'ffn_hidden_size',
    'd_ff',
    'ffn_dim', // OPT
  ],
  vocabSize: ['vocabSize', 'vocab_size', 'padded_vocab_size'],
  maxPositionEmbeddings: [
    'maxPositionEmbeddings',
    'max_position_embeddings',
    'n_positions',
    'seq_length',
  ],
};

/** `config` with `defaults` filling the fields it lacks. `config` is not copied: each of its
 * fields is read only when the mapping asks for it, so a caller that watches the reads
 * (models/used-config.ts keeps only those) sees which fields were used. */
export function withDefaults(config: Config, defaults: Config = {}): Config {
  const layered = Object.create(config) as Config;
  for (const [key, value] of Object.entries(defaults)) if (!(key in config)) layered[key] = value;
  return layered;
}

/** `config` with `fields` over it (a text_config over its root), `config` read as above. */
export function withFields(config: Config, fields: Config): Config {
  return Object.assign(Object.create(config) as Config, fields);
}

/** The config.json name a field is reported under (the first snake_case alias). */
export function configName(field: string): string {
  return ALIASES[field]?.[1] ?? field;
}

export class ConfigReader {
  readonly errors: FieldError[] = [];

  constructor(
    readonly config: Config,
    readonly prefix: string,
  ) {}

  /** The first present alias of `field`, null counting as absent. */
  pick(field: string): unknown {
    for (const key of ALIASES[field] ?? [field]) {
      const value = this.config[key];
      if (value !== undefined && value !== null) return value;
    }
    return undefined;
  }

  fail(field: string, message: string): void {
    this.errors.push({ field: `${this.prefix}.${field}`, message });
  }

  /** A positive integer field; a missing required one is recorded with what to add. */
  integer(field: string, required = true): number | undefined {
    const value = this.pick(field);
    if (value === undefined) {
      if (required) {
        const names = ALIASES[field]?.slice(1).join(' / ') ?? field;
        this.fail(
          configName(field),
          `missing ${names}: a positive integer from the model's config.json`,
        );
      }
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      this.fail(configName(field), `must be a positive integer, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  /** The first numeric key present, else the fallback. */
  numberOr(fallback: number, ...keys: string[]): number {
    for (const key of keys) if (typeof this.config[key] === 'number') return this.config[key];
    return fallback;
  }

  /** True when any key is exactly true. */
  bool(...keys: string[]): boolean {
    return keys.some((key) => this.config[key] === true);
  }

  /** A boolean key, or the fallback when it is absent or not a boolean. */
  flag(key: string, fallback: boolean): boolean {
    const value = this.config[key];
    return typeof value === 'boolean' ? value : fallback;
  }

  /** An integer list key (layer indices), or undefined. */
  integers(key: string): number[] | undefined {
    const value = this.config[key];
    return Array.isArray(value) && value.every((v) => Number.isInteger(v))
      ? (value as number[])
      : undefined;
  }
}
