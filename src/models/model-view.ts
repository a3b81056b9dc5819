// How a catalog model is served: its architecture plus its parameter counts.
import { countParameters } from '../engine/parameters';
import { ModelArchitecture } from '../engine/types';

export type ModelView = ModelArchitecture & {
  parameters: { total: number; active: number };
  /** Added through POST /models rather than shipped in the catalog. */
  custom: boolean;
};

export function toModelView(arch: ModelArchitecture, custom: boolean): ModelView {
  const { total, active } = countParameters(arch);
  return { ...arch, parameters: { total, active }, custom };
}
