// How a catalog model is served: its architecture plus its parameter counts.
import { countParameters } from '../engine';
import { CatalogModel } from '../catalog/catalog';

export type ModelView = CatalogModel & {
  parameters: { total: number; active: number };
  /** Added through POST /models rather than shipped in the catalog. */
  custom: boolean;
};

export function toModelView(model: CatalogModel): ModelView {
  const { total, active } = countParameters(model);
  return { ...model, parameters: { total, active }, custom: model.custom ?? false };
}
