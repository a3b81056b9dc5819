// Keeps this instance's catalog in step with the custom models in the database: before each
// request one read of the revision counter, and a reload only when another writer changed it.
import {
  CanActivate,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  ServiceUnavailableException,
} from '@nestjs/common';
import { CatalogModel } from '../catalog/catalog';
import { architectureFromConfig } from '../engine';
import {
  CUSTOM_MODELS_REPOSITORY,
  CustomModelRecord,
  CustomModelsRepository,
} from './custom-models.repository';
import { LiveCatalog } from './live-catalog';

@Injectable()
export class CustomModelsSync implements OnApplicationBootstrap {
  private readonly logger = new Logger(CustomModelsSync.name);
  /** The revision the catalog reflects; -1 before the first load. */
  private loadedRevision = -1;
  /** A reload in progress, which concurrent requests wait for instead of starting their own. */
  private reloading?: Promise<void>;

  constructor(
    private readonly catalog: LiveCatalog,
    @Inject(CUSTOM_MODELS_REPOSITORY) private readonly customModels: CustomModelsRepository,
  ) {}

  /** Loaded at boot too, so a saved model the engine now rejects is reported at once. */
  onApplicationBootstrap(): Promise<void> {
    return this.refresh();
  }

  /** Brings the catalog up to at least the database's revision now (a no-op when nothing
   * changed). A reload already under way may have read an older revision, so a second one
   * follows when it falls short; a counter that went back (a restored database) reloads too. */
  async refresh(): Promise<void> {
    const wanted = await this.currentRevision();
    if (wanted < this.loadedRevision) this.loadedRevision = -1;
    for (let pass = 0; pass < 2 && this.loadedRevision < wanted; pass++) {
      this.reloading ??= this.reload().finally(() => (this.reloading = undefined));
      await this.reloading;
    }
  }

  /** The database's revision; a database that does not answer is a 503, its message logged. */
  private async currentRevision(): Promise<number> {
    try {
      return await this.customModels.revision();
    } catch (error) {
      this.logger.error(`reading the custom models failed: ${(error as Error).message}`);
      throw new ServiceUnavailableException('the database does not answer; see the service log');
    }
  }

  private async reload(): Promise<void> {
    const { revision, models } = await this.customModels.all();
    this.catalog.replaceCustomModels(models.flatMap((saved) => this.derived(saved)));
    this.loadedRevision = revision;
  }

  /** Re-derived from the saved config, so engine fixes and limits reach old models too; one
   * the engine now rejects is left out (and can still be deleted). */
  private derived(saved: CustomModelRecord): CatalogModel[] {
    try {
      const name =
        typeof saved.architecture.name === 'string' ? saved.architecture.name : undefined;
      return [{ ...architectureFromConfig(saved.id, saved.config, name), custom: true }];
    } catch (error) {
      this.logger.warn(`custom model '${saved.id}' is not served: ${(error as Error).message}`);
      return [];
    }
  }
}

/** Runs the refresh before every handler, so each instance plans with every instance's models.
 * A guard rather than an interceptor: it admits every request, and Nest calls a guard directly,
 * where each interceptor costs an AsyncResource.bind and an Observable chain per request. */
@Injectable()
export class CustomModelsRefresh implements CanActivate {
  constructor(private readonly sync: CustomModelsSync) {}

  async canActivate(): Promise<boolean> {
    await this.sync.refresh();
    return true;
  }
}
