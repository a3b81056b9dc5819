// The catalog the app serves: the shipped models and GPUs, plus the custom models the database
// holds, replaced as a whole whenever a writer changed them (see CustomModelsSync).
import { Catalog, CatalogModel, ModelLookup } from '../catalog/catalog';

export class LiveCatalog extends Catalog {
  private custom = new Map<string, CatalogModel>();

  constructor(private readonly shipped: Catalog) {
    super(shipped.models(), shipped.gpus(), shipped.errorBands);
  }

  /** Whether `idOrAlias` names a model shipped with the catalog (those cannot be replaced). */
  isShipped(idOrAlias: string): boolean {
    return this.shipped.findModel(idOrAlias) !== undefined;
  }

  /** The custom models, all at once: a request sees the old set or the new one, never a mix. */
  replaceCustomModels(models: CatalogModel[]): void {
    this.custom = new Map(models.map((model) => [model.id.toLowerCase(), model]));
    this.changed();
  }

  override models(): CatalogModel[] {
    return [...this.shipped.models(), ...this.custom.values()];
  }

  /** Shipped models first (by id or Hugging Face alias), then custom ones by id, then by
   * alias; a name that is none of these is read through its base checkpoint, over both. */
  override lookupModel(idOrAlias: string): ModelLookup | undefined {
    const shipped = this.shipped.lookupModel(idOrAlias);
    if (shipped && shipped.note === undefined) return shipped;
    const key = idOrAlias.toLowerCase();
    const custom =
      this.custom.get(key) ??
      [...this.custom.values()].find((model) => model.hfId?.toLowerCase() === key);
    return custom ? { model: custom } : super.lookupModel(idOrAlias);
  }

  override modelIds(): string[] {
    return [...this.shipped.modelIds(), ...this.custom.keys()];
  }
}
