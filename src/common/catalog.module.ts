// The model and GPU catalog as one shared, injectable instance: the shipped catalog plus the
// custom models of the database (kept current by the models module).
import { Global, Module } from '@nestjs/common';
import { Catalog, loadCatalog } from '../catalog/catalog';
import { LiveCatalog } from '../models/live-catalog';

@Global()
@Module({
  providers: [
    { provide: LiveCatalog, useFactory: () => new LiveCatalog(loadCatalog()) },
    { provide: Catalog, useExisting: LiveCatalog },
  ],
  exports: [Catalog, LiveCatalog],
})
export class CatalogModule {}
