// The model and GPU catalog as one shared, injectable instance (custom models are added to it).
import { Global, Module } from '@nestjs/common';
import { Catalog, loadCatalog } from '../catalog/catalog';

@Global()
@Module({
  providers: [{ provide: Catalog, useFactory: () => loadCatalog() }],
  exports: [Catalog],
})
export class CatalogModule {}
