// A config.json keeps only the keys the planner read: ignored keys (tokenizer settings, or a
// megabyte of padding) are neither stored with a custom model nor with a saved plan.
import { architectureFromConfig } from '../engine';

type Config = Record<string, unknown>;

function isPlainObject(value: unknown): value is Config {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The keys of `config` that deriving its architecture reads, with their values (a nested
 * object such as `moe` is kept whole). A config the engine rejects is returned unchanged, so
 * planning reports its errors as it would have. */
export function usedConfig(config: Config): Config {
  const read = new Set<string>();
  const watched = new Proxy(config, {
    get(target, key, receiver) {
      if (typeof key === 'string' && Object.hasOwn(target, key)) read.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  try {
    architectureFromConfig('used-config', watched);
  } catch {
    return config;
  }
  return Object.fromEntries(
    [...read].filter((key) => config[key] !== undefined).map((key) => [key, config[key]]),
  );
}

/** An inline `model` of a PlanRequest with only what the planner reads: a catalog id stays as
 * it is; `{ id, name, config }` keeps its id and name and the config's used keys; a bare
 * config keeps its used keys and its id. */
export function usedModel(model: string | Config): string | Config {
  if (typeof model === 'string') return model;
  const labels = Object.fromEntries(
    (['id', 'name'] as const)
      .filter((key) => typeof model[key] === 'string')
      .map((key) => [key, model[key]]),
  );
  if (isPlainObject(model.config)) return { ...labels, config: usedConfig(model.config) };
  return { ...labels, ...usedConfig(model) };
}
